import util from 'node:util'
import { AppError } from '../errors.js'
import { isSecretType, secretTypeOf } from './types/registry.js'

/** What every stringification of a {@link Secret} prints. */
export const REDACTED = '[REDACTED]'

/**
 * A plaintext that must not end up in a log, an error message, a job payload or an API response.
 *
 * The value lives in a private field, so it is not an own property: it is invisible to
 * `Object.keys`, spread, `JSON.stringify`, `structuredClone` and `util.inspect` (even with
 * `customInspect: false`). Every way of turning the object into text — `String(s)`, `${s}`,
 * `s + ''`, `JSON.stringify({ s })` (and so pino, which serialises through `toJSON`),
 * `util.inspect`, `console.log`, `util.format('%s' | '%o' | '%j')` — prints `[REDACTED]`.
 *
 * The only way to the value is {@link Secret.reveal}; call it at the last moment, in the code that
 * hands the value to the SDK / HMAC / header, and do not keep the result around.
 */
export class Secret<T = string> {
  readonly #value: T

  constructor (value: T) {
    this.#value = value
  }

  /** The plaintext. Every call site is a place where the secret leaves the wrapper: keep them few. */
  reveal (): T {
    return this.#value
  }

  /** A new Secret holding `fn(value)`, e.g. `awsSecret.map(v => v.secretAccessKey)`. */
  map<U> (fn: (value: T) => U): Secret<U> {
    return new Secret(fn(this.#value))
  }

  toString (): string {
    return REDACTED
  }

  toJSON (): string {
    return REDACTED
  }

  [Symbol.toPrimitive] (): string {
    return REDACTED
  }

  [util.inspect.custom] (): string {
    return REDACTED
  }

  static isSecret (value: unknown): value is Secret<unknown> {
    return value instanceof Secret
  }
}

// The tag shown by Object.prototype.toString.call(secret) — harmless, but make it explicit.
Object.defineProperty(Secret.prototype, Symbol.toStringTag, { value: 'Secret', enumerable: false })

export { REDACTED_PREFIX, REDACT_MIN_LENGTH_FOR_SUFFIX, redactValue } from './redact-value.js'

// ---------------------------------------------------------------------------------------------
// Secret values by type (docs/security.md, "Values, by type") and their plaintext encoding inside the vault.

/**
 * The value of each secret type, by type name. Empty here: each type's file in ./types/ adds its
 * entry (`declare module '../secret.js'`), so a new type is one file and one registry line.
 */
export interface SecretValues {}

export type SecretType = keyof SecretValues & string

export type SecretValue<K extends SecretType = SecretType> = SecretValues[K]

export { SECRET_TYPES, isSecretType } from './types/registry.js'
export type { AwsSecretValue } from './types/aws.js'
export type { WebhookSecretValue } from './types/webhook.js'
export type { HttpHeaderSecretValue } from './types/http-header.js'

/** Copies exactly the known fields of a value of `type`; undefined if the shape is wrong. */
function pick<K extends SecretType> (type: K, value: unknown): SecretValues[K] | undefined {
  if (!isSecretType(type) || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const source = value as Record<string, unknown>
  const out: Record<string, string> = {}
  const { required, optional } = secretTypeOf(type).fields
  for (const field of required) {
    const v = source[field]
    if (typeof v !== 'string' || v === '') return undefined
    out[field] = v
  }
  for (const field of optional) {
    const v = source[field]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string' || v === '') return undefined
    out[field] = v
  }
  return out as unknown as SecretValues[K]
}

/**
 * The plaintext bytes stored (encrypted) for a value: JSON of exactly the type's fields, in a
 * fixed order. Unknown fields are dropped. Throws a TypeError (a programming error: input
 * validation belongs to the route schema) when a required field is missing or not a string.
 */
export function encodeSecretValue<K extends SecretType> (type: K, value: SecretValues[K]): Buffer {
  const picked = pick(type, value)
  if (picked === undefined) throw new TypeError(`not a valid "${String(type)}" secret value`)
  return Buffer.from(JSON.stringify(picked), 'utf8')
}

/**
 * The inverse of {@link encodeSecretValue}. Bytes that are not a value of `type` (they did
 * authenticate, so this is a bug or a row written by something else) throw SECRET_DECRYPT_FAILED;
 * the error never carries the bytes.
 */
export function decodeSecretValue<K extends SecretType> (type: K, plaintext: Buffer, secretId?: string): SecretValues[K] {
  let parsed: unknown
  try {
    parsed = JSON.parse(plaintext.toString('utf8'))
  } catch {
    parsed = undefined
  }
  const value = pick(type, parsed)
  if (value === undefined) {
    const which = secretId === undefined ? '' : ' ' + secretId
    throw new AppError('SECRET_DECRYPT_FAILED', `The secret${which} decrypted, but is not a valid "${String(type)}" value`, {
      details: { ...(secretId === undefined ? {} : { secretId }), type },
    })
  }
  return value
}
