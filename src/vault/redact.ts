import type { SecretType, SecretValues } from './secret.js'
import { Secret } from './secret.js'
import { isSecretType, secretTypeOf } from './types/registry.js'

/** The descriptor of a stored type: an unknown one here is a programming error, not input. */
function descriptorOf (type: SecretType) {
  if (!isSecretType(type)) throw new TypeError(`unknown secret type "${String(type)}"`)
  return secretTypeOf(type)
}

export { WEBHOOK_SECRET_BYTES, WEBHOOK_SECRET_PREFIX, generateWebhookSecret } from './types/webhook.js'

/** The `redacted` field of a Secret in API output: each secret string as `mt_byo_****` + its last four, names in clear. */
export type RedactedSecretValue = Record<string, string>

type Plain<K extends SecretType> = SecretValues[K] | Secret<SecretValues[K]>

const unwrap = <V>(value: V | Secret<V>): V => value instanceof Secret ? value.reveal() : value

/**
 * The shape shown for a secret value in API output, as its type says (src/vault/types/): every
 * secret string as `mt_byo_****` + its last four characters (see redactValue for short values),
 * names (an `http_header`'s header name) in clear. Accepts the plain value or a Secret wrapping it.
 */
export function redactSecretValue<K extends SecretType> (type: K, value: Plain<K>): RedactedSecretValue {
  return descriptorOf(type).redact(unwrap(value as SecretValues[K] | Secret<SecretValues[K]>))
}

/**
 * Every sensitive string in a secret value, for scrubbing logs and error text (the canary
 * redaction): each raw string the type names (src/vault/types/), plus the JSON-escaped and
 * URL-encoded forms when they differ from the raw string. Empty strings are never returned; the
 * list has no duplicates. Short strings are returned too — a consumer that replaces substrings
 * should decide its own minimum length.
 */
export function collectSecretStrings<K extends SecretType> (type: K, value: Plain<K>): string[] {
  const raw = descriptorOf(type).secretStrings(unwrap(value as SecretValues[K] | Secret<SecretValues[K]>))
  const out = new Set<string>()
  for (const s of raw) {
    if (typeof s !== 'string' || s === '') continue
    out.add(s)
    out.add(JSON.stringify(s).slice(1, -1))
    out.add(encodeURIComponent(s))
  }
  return [...out].filter(s => s !== '')
}
