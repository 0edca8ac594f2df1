import crypto from 'node:crypto'
import type { AwsSecretValue, HttpHeaderSecretValue, SecretType, SecretValues, WebhookSecretValue } from './secret.js'
import { Secret, redactValue } from './secret.js'

/** The `redacted` field of a Secret in API output, by type. */
export interface RedactedSecretValues {
  aws: { accessKeyId: string, secretAccessKey: string, sessionToken?: string }
  webhook: { signingSecret: string }
  /** the header name is not secret and is shown in clear */
  http_header: { name: string, value: string }
}

export type RedactedSecretValue<K extends SecretType = SecretType> = RedactedSecretValues[K]

type Plain<K extends SecretType> = SecretValues[K] | Secret<SecretValues[K]>

const unwrap = <V>(value: V | Secret<V>): V => value instanceof Secret ? value.reveal() : value

/**
 * The shape shown for a secret value in API output: every secret string as `mt_byo_****` + its
 * last four characters (see redactValue for short values); the header name of an `http_header`
 * in clear. Accepts the plain value or a Secret wrapping it.
 */
export function redactSecretValue<K extends SecretType> (type: K, value: Plain<K>): RedactedSecretValues[K] {
  const plain = unwrap(value as SecretValues[K] | Secret<SecretValues[K]>) as SecretValues[SecretType]
  switch (type) {
    case 'aws': {
      const v = plain as AwsSecretValue
      const out: RedactedSecretValues['aws'] = {
        accessKeyId: redactValue(v.accessKeyId),
        secretAccessKey: redactValue(v.secretAccessKey),
      }
      if (typeof v.sessionToken === 'string' && v.sessionToken !== '') out.sessionToken = redactValue(v.sessionToken)
      return out as RedactedSecretValues[K]
    }
    case 'webhook': {
      const v = plain as WebhookSecretValue
      return { signingSecret: redactValue(v.signingSecret) } as RedactedSecretValues[K]
    }
    case 'http_header': {
      const v = plain as HttpHeaderSecretValue
      return { name: v.name, value: redactValue(v.value) } as RedactedSecretValues[K]
    }
    default:
      throw new TypeError(`unknown secret type "${String(type)}"`)
  }
}

/** Bytes of key material in a generated webhook signing secret (Standard Webhooks allows 24–64). */
export const WEBHOOK_SECRET_BYTES = 24
export const WEBHOOK_SECRET_PREFIX = 'whsec_'

/** A new Standard Webhooks signing secret: `whsec_` + base64 of 24 random bytes. */
export function generateWebhookSecret (): string {
  return WEBHOOK_SECRET_PREFIX + crypto.randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')
}

/**
 * Every sensitive string in a secret value, for scrubbing logs and error text (the canary
 * redaction). Besides each raw field it lists the forms a value is likely to show up in:
 * - the key part of a `whsec_…` secret (what the HMAC code handles),
 * - the token part of an `Authorization: Bearer …` / `Basic …` style header value,
 * - the JSON-escaped and URL-encoded forms, when they differ from the raw string.
 * AWS access key ids are included although AWS treats them as semi-public: they identify the
 * customer's IAM user and they are half of the credential. Header names are not included.
 * Empty strings are never returned; the list has no duplicates. Short strings are returned too —
 * a consumer that replaces substrings should decide its own minimum length.
 */
export function collectSecretStrings<K extends SecretType> (type: K, value: Plain<K>): string[] {
  const plain = unwrap(value as SecretValues[K] | Secret<SecretValues[K]>) as SecretValues[SecretType]
  const raw: string[] = []
  switch (type) {
    case 'aws': {
      const v = plain as AwsSecretValue
      raw.push(v.accessKeyId, v.secretAccessKey)
      if (typeof v.sessionToken === 'string') raw.push(v.sessionToken)
      break
    }
    case 'webhook': {
      const v = plain as WebhookSecretValue
      raw.push(v.signingSecret)
      if (typeof v.signingSecret === 'string' && v.signingSecret.startsWith(WEBHOOK_SECRET_PREFIX)) {
        raw.push(v.signingSecret.slice(WEBHOOK_SECRET_PREFIX.length))
      }
      break
    }
    case 'http_header': {
      const v = plain as HttpHeaderSecretValue
      raw.push(v.value)
      const scheme = typeof v.value === 'string' ? /^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*\s+(\S.*)$/.exec(v.value.trim()) : null
      if (scheme !== null) raw.push(scheme[1].trim())
      break
    }
    default:
      throw new TypeError(`unknown secret type "${String(type)}"`)
  }
  const out = new Set<string>()
  for (const s of raw) {
    if (typeof s !== 'string' || s === '') continue
    out.add(s)
    out.add(JSON.stringify(s).slice(1, -1))
    out.add(encodeURIComponent(s))
  }
  return [...out].filter(s => s !== '')
}
