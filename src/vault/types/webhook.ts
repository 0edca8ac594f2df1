import crypto from 'node:crypto'
import { redactValue } from '../redact-value.js'
import type { SecretTypeDescriptor } from './descriptor.js'
import { checkString, invalid } from './fields.js'

export interface WebhookSecretValue {
  /** `whsec_` + base64 of the key bytes (Standard Webhooks) */
  signingSecret: string
}

declare module '../secret.js' {
  interface SecretValues { webhook: WebhookSecretValue }
}

/** Bytes of key material in a generated webhook signing secret (Standard Webhooks allows 24–64). */
export const WEBHOOK_SECRET_BYTES = 24
export const WEBHOOK_SECRET_PREFIX = 'whsec_'
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** A new Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. */
export function generateWebhookSecret (): string {
  return WEBHOOK_SECRET_PREFIX + crypto.randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')
}

/** A Standard Webhooks signing secret (inbound sources verify with it, outbound sinks sign with it). */
export const webhookSecret: SecretTypeDescriptor<WebhookSecretValue> = {
  type: 'webhook',
  fields: { required: ['signingSecret'], optional: [] },
  parse (source) {
    const signingSecret = checkString('value.signingSecret', source.signingSecret, { max: 200 })
    const rest = signingSecret.startsWith(WEBHOOK_SECRET_PREFIX) ? signingSecret.slice(WEBHOOK_SECRET_PREFIX.length) : undefined
    if (rest === undefined || rest === '' || !BASE64.test(rest)) {
      throw invalid('value.signingSecret', `must be "${WEBHOOK_SECRET_PREFIX}" followed by base64 (Standard Webhooks); omit the value to have one generated`)
    }
    const bytes = Buffer.from(rest, 'base64').length
    if (bytes < 24 || bytes > 64) throw invalid('value.signingSecret', 'must hold 24 to 64 bytes of key after "whsec_" (Standard Webhooks)')
    return { signingSecret }
  },
  redact: v => ({ signingSecret: redactValue(v.signingSecret) }),
  // the key part too: what the HMAC code handles
  secretStrings: v => [
    v.signingSecret,
    ...(typeof v.signingSecret === 'string' && v.signingSecret.startsWith(WEBHOOK_SECRET_PREFIX) ? [v.signingSecret.slice(WEBHOOK_SECRET_PREFIX.length)] : []),
  ],
  generate () {
    const signingSecret = generateWebhookSecret()
    return { value: { signingSecret }, shown: signingSecret }
  },
  keepsPrevious: true,
  triedBySourcePing: false,
}
