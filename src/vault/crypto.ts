import crypto from 'node:crypto'
import { AppError } from '../errors.js'
import type { Keyring, MasterKey } from './keyring.js'
import { MASTER_KEY_BYTES } from './keyring.js'

/**
 * Envelope encryption of vault secrets (docs/security.md, "What is stored, and how").
 *
 * - Every encryption draws a fresh random 256-bit data key (DEK) and a fresh 96-bit nonce, and
 *   seals the plaintext with AES-256-GCM (16-byte tag). The AAD binds the ciphertext to
 *   (format version, orgId, secretId, type): a row copied to another organisation, secret id or
 *   type does not decrypt.
 * - The DEK is wrapped with the master key (KEK) by AES-256-GCM too, under its own nonce and an AAD
 *   binding it to (format version, orgId, secretId, type, kekId). `wrappedKey` = nonce ‖ ciphertext ‖ tag.
 * - Rotation re-wraps the DEK only ({@link rewrapDataKey}); ciphertext, nonce and tag never change.
 * - Decryption either returns the exact plaintext or throws an AppError: SECRET_DECRYPT_FAILED
 *   (tampered / copied / malformed row) or MASTER_KEY_MISMATCH (the row's master key is not
 *   loaded). It never returns garbage and never lets a raw crypto exception out.
 *
 * All functions are pure (no I/O); the only state is the Keyring passed in.
 */

/** The only format written and read today. Part of both AADs. */
export const FORMAT_VERSION = 1

export const NONCE_BYTES = 12
export const TAG_BYTES = 16
export const DATA_KEY_BYTES = 32
/** nonce (12) ‖ encrypted data key (32) ‖ tag (16) */
export const WRAPPED_KEY_BYTES = NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES

const ALGORITHM = 'aes-256-gcm'
const DATA_AAD_LABEL = 'ferry.vault.secret'
const WRAP_AAD_LABEL = 'ferry.vault.data-key'
const KEK_ID_PATTERN = /^[0-9a-f]{16}$/

/** What a ciphertext is bound to. None of it is secret (AAD is authenticated, not encrypted). */
export interface SecretContext {
  orgId: string
  secretId: string
  /** the secret's type: 'aws' | 'webhook' | 'http_header' */
  type: string
}

/** What the vault stores for one secret (all columns of its row besides the context). */
export interface SealedSecret {
  /** always {@link FORMAT_VERSION} (1) when written by this code */
  formatVersion: number
  ciphertext: Buffer
  /** 12 bytes */
  nonce: Buffer
  /** 16 bytes */
  tag: Buffer
  /** nonce ‖ encrypted data key ‖ tag, 60 bytes, under the master key `kekId` */
  wrappedKey: Buffer
  /** id (fingerprint) of the master key that wrapped the data key, see masterKeyId() */
  kekId: string
}

/**
 * A sealed secret as read back from a database: byte columns may come back as plain Uint8Array
 * (PGlite) rather than Buffer.
 */
export type StoredSealedSecret = { [K in keyof SealedSecret]: SealedSecret[K] extends Buffer ? Uint8Array : SealedSecret[K] }

/**
 * Unambiguous AAD encoding: every field is a 4-byte big-endian length followed by its bytes
 * (UTF-8 for strings, a 4-byte big-endian unsigned integer for numbers). The first field is a
 * label naming the purpose, so a data AAD can never equal a wrapping AAD.
 */
export function encodeAad (label: string, fields: ReadonlyArray<string | number>): Buffer {
  const parts: Buffer[] = []
  for (const field of [label, ...fields]) {
    let bytes: Buffer
    if (typeof field === 'number') {
      if (!Number.isInteger(field) || field < 0 || field > 0xffffffff) throw new TypeError('AAD numbers must be 32-bit unsigned integers')
      bytes = Buffer.alloc(4)
      bytes.writeUInt32BE(field)
    } else {
      bytes = Buffer.from(field, 'utf8')
    }
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    parts.push(length, bytes)
  }
  return Buffer.concat(parts)
}

const dataAad = (ctx: SecretContext, formatVersion: number): Buffer =>
  encodeAad(DATA_AAD_LABEL, [formatVersion, ctx.orgId, ctx.secretId, ctx.type])

const wrapAad = (ctx: SecretContext, formatVersion: number, kekId: string): Buffer =>
  encodeAad(WRAP_AAD_LABEL, [formatVersion, ctx.orgId, ctx.secretId, ctx.type, kekId])

function assertContext (ctx: SecretContext): void {
  for (const field of ['orgId', 'secretId', 'type'] as const) {
    if (typeof ctx[field] !== 'string' || ctx[field] === '') throw new TypeError(`secret context: ${field} must be a non-empty string`)
  }
}

function assertKek (kek: MasterKey): void {
  if (!Buffer.isBuffer(kek.key) || kek.key.length !== MASTER_KEY_BYTES) throw new TypeError(`master key ${kek.id} is not ${MASTER_KEY_BYTES} bytes`)
  if (typeof kek.id !== 'string' || !KEK_ID_PATTERN.test(kek.id)) throw new TypeError('master key id must be 16 hex characters')
}

function seal (key: Buffer, plaintext: Buffer, aad: Buffer): { nonce: Buffer, ciphertext: Buffer, tag: Buffer } {
  const nonce = crypto.randomBytes(NONCE_BYTES)
  const cipher = crypto.createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { nonce, ciphertext, tag: cipher.getAuthTag() }
}

/** Opens a GCM box; undefined when authentication fails (wrong key, altered bytes or AAD). */
function open (key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer | undefined {
  // Length checks matter: Node would accept a truncated tag unless authTagLength pins it.
  if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) return undefined
  let head: Buffer | undefined
  try {
    const decipher = crypto.createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    head = decipher.update(ciphertext)
    const tail = decipher.final() // throws on authentication failure
    const out = Buffer.concat([head, tail])
    head.fill(0)
    return out
  } catch {
    head?.fill(0) // unauthenticated output: never let it out, wipe it
    return undefined
  }
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

function decryptFailed (ctx: SecretContext, reason?: string): AppError {
  return new AppError(
    'SECRET_DECRYPT_FAILED',
    `The secret ${ctx.secretId} could not be decrypted: it was altered, copied from another organisation, or encrypted with another master key` +
      (reason === undefined ? '' : ` (${reason})`),
    { details: { secretId: ctx.secretId } },
  )
}

/** Validates the stored shape and returns Buffers; throws SECRET_DECRYPT_FAILED if malformed. */
function normalise (ctx: SecretContext, sealed: SealedSecret | StoredSealedSecret): SealedSecret {
  if (sealed === null || typeof sealed !== 'object') throw decryptFailed(ctx, 'no sealed value')
  if (sealed.formatVersion !== FORMAT_VERSION) {
    throw decryptFailed(ctx, `unsupported format version ${Number.isSafeInteger(sealed.formatVersion) ? sealed.formatVersion : '?'}`)
  }
  for (const field of ['ciphertext', 'nonce', 'tag', 'wrappedKey'] as const) {
    if (!(sealed[field] instanceof Uint8Array)) throw decryptFailed(ctx, `${field} is missing`)
  }
  if (typeof sealed.kekId !== 'string' || !KEK_ID_PATTERN.test(sealed.kekId)) throw decryptFailed(ctx, 'malformed master key id')
  const out: SealedSecret = {
    formatVersion: sealed.formatVersion,
    ciphertext: asBuffer(sealed.ciphertext),
    nonce: asBuffer(sealed.nonce),
    tag: asBuffer(sealed.tag),
    wrappedKey: asBuffer(sealed.wrappedKey),
    kekId: sealed.kekId,
  }
  if (out.nonce.length !== NONCE_BYTES || out.tag.length !== TAG_BYTES || out.wrappedKey.length !== WRAPPED_KEY_BYTES) {
    throw decryptFailed(ctx, 'malformed row')
  }
  return out
}

function wrapDataKey (ctx: SecretContext, dataKey: Buffer, kek: MasterKey): Buffer {
  const { nonce, ciphertext, tag } = seal(kek.key, dataKey, wrapAad(ctx, FORMAT_VERSION, kek.id))
  return Buffer.concat([nonce, ciphertext, tag])
}

/** The plaintext data key of a (normalised) sealed secret. The caller zeroes it. */
function unwrapDataKey (ctx: SecretContext, sealed: SealedSecret, keyring: Keyring): Buffer {
  const kek = keyring.byId(sealed.kekId)
  if (kek === undefined) {
    throw new AppError(
      'MASTER_KEY_MISMATCH',
      `The vault was encrypted with master key ${sealed.kekId}, which is not loaded; check FERRY_MASTER_KEY / master.key`,
      { details: { secretId: ctx.secretId, kekId: sealed.kekId, loadedKekIds: keyring.ids } },
    )
  }
  const w = sealed.wrappedKey
  const dataKey = open(
    kek.key,
    w.subarray(0, NONCE_BYTES),
    w.subarray(NONCE_BYTES, NONCE_BYTES + DATA_KEY_BYTES),
    w.subarray(NONCE_BYTES + DATA_KEY_BYTES),
    wrapAad(ctx, sealed.formatVersion, sealed.kekId),
  )
  if (dataKey === undefined) throw decryptFailed(ctx)
  if (dataKey.length !== DATA_KEY_BYTES) { // cannot happen with a 60-byte wrappedKey; belt and braces
    dataKey.fill(0)
    throw decryptFailed(ctx)
  }
  return dataKey
}

/**
 * Seals `plaintext` for the secret `(orgId, secretId, type)` under a fresh data key wrapped by
 * `kek` (normally `keyring.active`). Call again with the same secretId to store a new value: every
 * call uses a new data key and new nonces.
 */
export function encryptSecret (input: SecretContext & { plaintext: Buffer }, kek: MasterKey): SealedSecret {
  const ctx: SecretContext = { orgId: input.orgId, secretId: input.secretId, type: input.type }
  assertContext(ctx)
  assertKek(kek)
  if (!(input.plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Buffer')
  const dataKey = Buffer.alloc(DATA_KEY_BYTES) // not from the shared pool, so zeroing it wipes the only copy we own
  try {
    crypto.randomFillSync(dataKey)
    const { nonce, ciphertext, tag } = seal(dataKey, asBuffer(input.plaintext), dataAad(ctx, FORMAT_VERSION))
    return { formatVersion: FORMAT_VERSION, ciphertext, nonce, tag, wrappedKey: wrapDataKey(ctx, dataKey, kek), kekId: kek.id }
  } finally {
    dataKey.fill(0)
  }
}

/**
 * The plaintext of a sealed secret, which must be presented with the exact context it was sealed
 * with. Throws AppError MASTER_KEY_MISMATCH if `sealed.kekId` is not in `keyring`, and
 * SECRET_DECRYPT_FAILED on any other failure (altered bytes, another org/secret/type, unknown
 * format, malformed row). The caller owns the returned buffer (zero it when done if it can).
 */
export function decryptSecret (ctx: SecretContext, sealed: SealedSecret | StoredSealedSecret, keyring: Keyring): Buffer {
  assertContext(ctx)
  const row = normalise(ctx, sealed)
  const dataKey = unwrapDataKey(ctx, row, keyring)
  try {
    const plaintext = open(dataKey, row.nonce, row.ciphertext, row.tag, dataAad(ctx, row.formatVersion))
    if (plaintext === undefined) throw decryptFailed(ctx)
    return plaintext
  } finally {
    dataKey.fill(0)
  }
}

/**
 * Re-wraps the data key of `sealed` under `toKek` (master key rotation). Only `wrappedKey` and
 * `kekId` change; `ciphertext`, `nonce` and `tag` are returned byte-identical and the secret's
 * plaintext is never produced. The data key is unwrapped with `fromKeyring`, so the same errors as
 * {@link decryptSecret} apply (a row whose wrapped key was altered or copied is not re-wrapped).
 */
export function rewrapDataKey (sealed: SealedSecret | StoredSealedSecret, ctx: SecretContext, fromKeyring: Keyring, toKek: MasterKey): SealedSecret {
  assertContext(ctx)
  assertKek(toKek)
  const row = normalise(ctx, sealed)
  const dataKey = unwrapDataKey(ctx, row, fromKeyring)
  try {
    return { ...row, wrappedKey: wrapDataKey(ctx, dataKey, toKek), kekId: toKek.id }
  } finally {
    dataKey.fill(0)
  }
}
