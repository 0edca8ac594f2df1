import type { Db, Queryable } from '../db/client.js'
import {
  countSecretsByOtherKek, deleteSecret, getSealedSecret, getSealedSigningSecrets, getSecret, insertMasterKey, insertSecret,
  listMasterKeys, listSecrets, lockActiveMasterKey, lockAllSealedSecrets, lockVault, renameSecret, replaceSecretValue,
  retireMasterKey, setPreviousWrappedKey, setWrappedKey, type SecretRecord,
} from '../db/sql/secrets.js'
import { AppError, isAppError } from '../errors.js'
import type { Logger } from '../log.js'
import { decryptSecret, encryptSecret, rewrapDataKey, type SealedSecret, type StoredSealedSecret } from './crypto.js'
import { Keyring, createMasterKey, masterKeyId, type MasterKey } from './keyring.js'
import { collectSecretStrings, redactSecretValue } from './redact.js'
import { REDACTED, SECRET_TYPES, Secret, decodeSecretValue, encodeSecretValue, isSecretType, type SecretType, type SecretValues } from './secret.js'
import { invalid } from './types/fields.js'
import { secretTypeOf } from './types/registry.js'
import { newId } from '../util/ids.js'
import { diff, recordAudit, type Actor } from '../audit/audit.js'
import type { Changes } from '../db/sql/audit.js'

export type { SecretRecord } from '../db/sql/secrets.js'

/** A data source (or anything else) that references a secret; named in a 409 SECRET_IN_USE. */
export interface SecretUser { id: string, name: string }

/**
 * Who uses a secret. The vault does not know the tables that reference secrets (data sources,
 * channels…); the composition root passes this in. Runs inside the delete's transaction (`q`).
 */
export type FindSecretUsers = (q: Queryable, orgId: string, secretId: string) => Promise<SecretUser[]>

export interface VaultOptions {
  findSecretUsers?: FindSecretUsers
  /** audit lines (ids and types only, never values) */
  logger?: Pick<Logger, 'info' | 'warn'>
  /** hours a replaced webhook signing secret stays valid next to the new one (FERRY_WEBHOOK_SECRET_OVERLAP_HOURS, default 24) */
  webhookSecretOverlapHours?: number
}

export interface CreateSecretInput {
  name: string
  type: SecretType
  /** validated against `type`; may be omitted for `webhook` (a signing secret is generated) */
  value?: unknown
}

export interface UpdateSecretInput {
  name?: string
  /** a new value, validated against the secret's type: stored under a new data key, stamps rotatedAt */
  value?: unknown
}

/**
 * The vault service (docs/security.md). Stores secrets sealed by envelope encryption
 * (src/vault/crypto.ts); everything it returns outside {@link Vault.withSecret} /
 * {@link Vault.resolve} is metadata plus the redacted display form, never a value. Listing and
 * reading never decrypt: the redacted form is written alongside the sealed value.
 *
 * Build it with {@link openVault} at start (it checks that the loaded master key is the one the
 * stored secrets need); the constructor is for callers that did that check themselves.
 */
export class Vault {
  readonly #db: Db
  readonly #keyring: Keyring
  readonly #findSecretUsers?: FindSecretUsers
  readonly #logger?: Pick<Logger, 'info' | 'warn'>
  readonly #overlapHours: number

  constructor (db: Db, keyring: Keyring, options: VaultOptions = {}) {
    this.#db = db
    this.#keyring = keyring
    this.#findSecretUsers = options.findSecretUsers
    this.#logger = options.logger
    this.#overlapHours = options.webhookSecretOverlapHours ?? 24
  }

  /** Fingerprint of the master key that seals new values (safe to log). */
  get activeKeyId (): string {
    return this.#keyring.active.id
  }

  /**
   * Stores a new secret. A `webhook` secret without a value gets a generated `whsec_` signing
   * secret, returned here (wrapped) exactly once so the caller can show it to the user.
   */
  async create (orgId: string, input: CreateSecretInput, actor?: Actor): Promise<{ secret: SecretRecord, generatedSigningSecret?: Secret<string> }> {
    const type = input.type
    if (!isSecretType(type)) throw new AppError('VALIDATION_FAILED', `type must be one of ${SECRET_TYPES.join(', ')}.`, { details: { field: 'type' } })
    const name = parseName(input.name)
    let generated: string | undefined
    let value: SecretValues[SecretType]
    const made = input.value === undefined ? secretTypeOf(type).generate?.() : undefined
    if (made) {
      generated = made.shown
      value = made.value
    } else {
      value = parseSecretValue(type, input.value)
    }
    const id = newId()
    const secret = await this.#writeUnique(name, tx => this.#sealUnder(tx, async (kek) => {
      const sealed = seal(kek, { orgId, secretId: id, type }, value)
      const inserted = await insertSecret(tx, { id, orgId, name, type, redacted: redactSecretValue(type, value), sealed })
      if (actor) await recordAudit(tx, actor, { action: 'create', resourceType: 'secret', resourceId: id })
      return inserted
    }))
    this.#logger?.info({ orgId, secretId: id, type, generated: generated !== undefined }, 'secret created')
    return { secret, ...(generated === undefined ? {} : { generatedSigningSecret: new Secret(generated) }) }
  }

  /** Keyset pagination on the (time-ordered) id, oldest first. */
  async list (orgId: string, page: { limit: number, after?: string }): Promise<SecretRecord[]> {
    return listSecrets(this.#db, orgId, page)
  }

  /** The secret's metadata; NOT_FOUND for an unknown id or another organisation's. */
  async get (orgId: string, secretId: string): Promise<SecretRecord> {
    const secret = await getSecret(this.#db, orgId, secretId)
    if (!secret) throw notFound()
    return secret
  }

  /**
   * Renames and/or replaces the value. A new value is validated against the secret's type, sealed
   * under a fresh data key and stamps `rotatedAt`; a rename alone does not. A webhook secret keeps
   * the sealed value it replaces for the rotation overlap ({@link withSigningSecrets}).
   */
  async update (orgId: string, secretId: string, patch: UpdateSecretInput, actor?: Actor): Promise<SecretRecord> {
    const name = patch.name === undefined ? undefined : parseName(patch.name)
    const updated = await this.#writeUnique(name ?? '', async (tx) => {
      const apply = async (kek?: MasterKey): Promise<SecretRecord> => {
        const current = await getSecret(tx, orgId, secretId, 'update')
        if (!current) throw notFound()
        let result = current
        if (kek !== undefined) {
          const value = parseSecretValue(current.type, patch.value)
          const sealed = seal(kek, { orgId, secretId, type: current.type }, value)
          const keepPrevious = secretTypeOf(current.type).keepsPrevious === true
          result = await replaceSecretValue(tx, orgId, secretId, redactSecretValue(current.type, value), sealed, keepPrevious) ?? throwNotFound()
        }
        if (name !== undefined && name !== current.name) result = await renameSecret(tx, orgId, secretId, name) ?? throwNotFound()
        if (actor) {
          // a new value is recorded even when its redacted form looks the same (same last characters)
          const changes: Changes = diff(current, result, ['name'])
          if (kek !== undefined) changes.value = { before: current.redacted, after: result.redacted }
          await recordAudit(tx, actor, { action: 'update', resourceType: 'secret', resourceId: secretId, changes })
        }
        return result
      }
      // a new value: the master key row is locked before the secret row, the order a rotation uses
      return patch.value === undefined ? apply() : this.#sealUnder(tx, apply)
    })
    if (patch.value !== undefined) this.#logger?.info({ orgId, secretId, type: updated.type }, 'secret value rotated')
    if (name !== undefined) this.#logger?.info({ orgId, secretId }, 'secret renamed')
    return updated
  }

  /** Deletes the secret; 409 SECRET_IN_USE (details.sources = [{ id, name }]) while anything uses it. */
  async delete (orgId: string, secretId: string, actor?: Actor): Promise<void> {
    await this.#db.transaction(async (tx) => {
      if (!await getSecret(tx, orgId, secretId, 'update')) throw notFound()
      const users = this.#findSecretUsers ? await this.#findSecretUsers(tx, orgId, secretId) : []
      if (users.length > 0) {
        const names = users.slice(0, 5).map(u => `"${u.name}"`).join(', ') + (users.length > 5 ? ` and ${users.length - 5} more` : '')
        const message = `The secret is used by ${users.length === 1 ? 'the data source' : 'the data sources'} ${names}; ` +
          `remove or repoint ${users.length === 1 ? 'it' : 'them'} first.`
        throw new AppError('SECRET_IN_USE', message, {
          details: { sources: users.map(u => ({ id: u.id, name: u.name })) },
        })
      }
      await deleteSecret(tx, orgId, secretId)
      if (actor) await recordAudit(tx, actor, { action: 'delete', resourceType: 'secret', resourceId: secretId })
    })
    this.#logger?.info({ orgId, secretId }, 'secret deleted')
  }

  /**
   * For code that saves a reference to a secret (a data source's `secretRef`): checks, inside the
   * caller's transaction `q`, that the secret exists in the organisation and has `expectedType`,
   * and share-locks its row so a concurrent delete waits for the caller's commit (and then sees
   * the reference through findSecretUsers). Throws NOT_FOUND or SECRET_TYPE_MISMATCH.
   */
  async reference (q: Queryable, orgId: string, secretId: string, expectedType?: SecretType): Promise<SecretRecord> {
    const secret = await getSecret(q, orgId, secretId, 'share')
    if (!secret) throw notFound()
    if (expectedType !== undefined && secret.type !== expectedType) throw typeMismatch(secret, expectedType)
    return secret
  }

  /**
   * Decrypts the secret and runs `fn` with its value wrapped in a {@link Secret}; the plaintext
   * exists only for the duration of the call. Errors: NOT_FOUND, SECRET_TYPE_MISMATCH (the secret
   * has another type), SECRET_DECRYPT_FAILED (altered or copied row), MASTER_KEY_MISMATCH (sealed
   * under a key this process does not hold). An error thrown by `fn` is passed on with every form
   * of the secret's strings scrubbed from its message and stack (and those of its causes).
   */
  async withSecret<K extends SecretType, T> (
    q: Queryable,
    orgId: string,
    secretId: string,
    expectedType: K,
    fn: (value: Secret<SecretValues[K]>) => Promise<T>
  ): Promise<T> {
    const value = await this.#open(q, orgId, secretId, expectedType)
    const strings = collectSecretStrings(expectedType, value)
    try {
      return await fn(new Secret(value))
    } catch (err) {
      throw scrubError(err, strings)
    }
  }

  /**
   * The decrypted value, wrapped. Prefer {@link withSecret}, which also scrubs errors; use this
   * where the value has to outlive one call (e.g. an SDK client built once per pull).
   */
  async resolve<K extends SecretType> (q: Queryable, orgId: string, secretId: string, expectedType: K): Promise<Secret<SecretValues[K]>> {
    return new Secret(await this.#open(q, orgId, secretId, expectedType))
  }

  /**
   * The webhook secret's signing secrets: the current one first, then, while the value was replaced
   * less than FERRY_WEBHOOK_SECRET_OVERLAP_HOURS ago, the one it replaced. Inbound verification
   * accepts either; outbound signing signs with each (docs/security.md "Rotation overlap"). Errors
   * and scrubbing as {@link withSecret}.
   */
  async withSigningSecrets<T> (q: Queryable, orgId: string, secretId: string, fn: (signingSecrets: Array<Secret<string>>) => Promise<T>): Promise<T> {
    const row = await getSealedSigningSecrets(q, orgId, secretId, this.#overlapHours)
    if (!row) throw notFound()
    if (row.type !== 'webhook') throw typeMismatch(row, 'webhook')
    const values = [this.#decrypt(row, row.sealed, 'webhook')]
    if (row.previous) values.push(this.#decrypt(row, row.previous, 'webhook'))
    const strings = values.flatMap(v => collectSecretStrings('webhook', v))
    try {
      return await fn(values.map(v => new Secret(v.signingSecret)))
    } catch (err) {
      throw scrubError(err, strings)
    }
  }

  async #open<K extends SecretType> (q: Queryable, orgId: string, secretId: string, expectedType: K): Promise<SecretValues[K]> {
    const row = await getSealedSecret(q, orgId, secretId)
    if (!row) throw notFound()
    if (row.type !== expectedType) throw typeMismatch(row, expectedType)
    return this.#decrypt(row, row.sealed, expectedType)
  }

  #decrypt<K extends SecretType> (row: SecretRecord, sealed: StoredSealedSecret, expectedType: K): SecretValues[K] {
    const { orgId, id: secretId } = row
    let plaintext: Buffer | undefined
    try {
      // the context comes from the row's own columns: a row whose org, id or type was altered fails
      plaintext = decryptSecret({ orgId: row.orgId, secretId: row.id, type: row.type }, sealed, this.#keyring)
      return decodeSecretValue(expectedType, plaintext, row.id)
    } catch (err) {
      if (isAppError(err)) this.#logger?.warn({ orgId, secretId, code: err.code }, 'secret could not be decrypted')
      throw err
    } finally {
      plaintext?.fill(0)
    }
  }

  /**
   * Share-locks this process's master key row and checks it is still the active key: a rotation
   * (which takes the row for update) then either waits for this write, or has already retired
   * the key and this write is refused instead of sealing under a retired key.
   */
  async #sealUnder<T> (tx: Queryable, fn: (kek: MasterKey) => Promise<T>): Promise<T> {
    const kek = this.#keyring.active
    if (!await lockActiveMasterKey(tx, kek.id)) {
      throw new AppError('MASTER_KEY_MISMATCH',
        `This process's master key (id ${kek.id}) is no longer the vault's active key (it was rotated); restart every Ferry process with the new master key.`,
        { details: { loadedKeyId: kek.id } })
    }
    return fn(kek)
  }

  /** Runs fn in a transaction; a duplicate (org, name) answers 409 CONFLICT. */
  async #writeUnique<T> (name: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.#db.transaction(fn)
    } catch (err) {
      const e = err as { code?: unknown, constraint?: unknown }
      if (e?.code === '23505' && e.constraint === 'secrets_org_name_idx') {
        throw new AppError('CONFLICT', `A secret named "${name}" already exists in this organisation.`, { details: { field: 'name' } })
      }
      throw err
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Opening the vault at start, and master key rotation

export interface OpenVaultOptions extends VaultOptions {
  /** where the key came from, for the error message: "FERRY_MASTER_KEY" or the key file's path */
  keySource?: string
}

/**
 * Checks the loaded master key against the database and returns the Vault. Refuses (AppError
 * MASTER_KEY_MISMATCH, one line naming the expected key id) when stored secrets are wrapped by
 * another key, or when the loaded key was retired by a rotation. A key never seen before becomes
 * the active key (with the next version) — only possible while no secret depends on another key.
 */
export async function openVault (db: Db, masterKey: Buffer, options: OpenVaultOptions = {}): Promise<Vault> {
  const loadedId = masterKeyId(masterKey)
  const from = options.keySource ? ` (from ${options.keySource})` : ''
  const version = await db.transaction(async (tx) => {
    await lockVault(tx)
    const keys = await listMasterKeys(tx, true)
    const active = keys.find(k => k.retiredAt === null)
    const others = await countSecretsByOtherKek(tx, loadedId)
    if (others.length > 0) {
      const expected = others.find(o => o.kekId === active?.id) ?? others[0]
      const total = others.reduce((n, o) => n + o.count, 0)
      throw new AppError('MASTER_KEY_MISMATCH',
        `The master key${from} has id ${loadedId}, but ${total} secret(s) in the vault are encrypted with master key ${expected.kekId}; ` +
        'start Ferry with that key in FERRY_MASTER_KEY or $FERRY_DATA_DIR/master.key (an interrupted rotation leaves the new key in master.key.next).',
        { details: { loadedKeyId: loadedId, expectedKeyIds: others.map(o => o.kekId) } })
    }
    const known = keys.find(k => k.id === loadedId)
    if (known?.retiredAt) {
      throw new AppError('MASTER_KEY_MISMATCH',
        `The master key${from} (id ${loadedId}) was retired by a rotation at ${known.retiredAt}; ` +
          `start Ferry with the active master key${active ? ` ${active.id}` : ''}.`,
        { details: { loadedKeyId: loadedId, expectedKeyIds: active ? [active.id] : [] } })
    }
    if (known) return known.version
    if (active) {
      await retireMasterKey(tx, active.id)
      options.logger?.warn({ previousKeyId: active.id, keyId: loadedId },
        'the master key changed while the vault held no secrets; the new key is now the active one')
    }
    const next = keys.reduce((v, k) => Math.max(v, k.version), 0) + 1
    await insertMasterKey(tx, loadedId, next)
    return next
  })
  return new Vault(db, new Keyring([createMasterKey(masterKey, version)]), options)
}

export interface RotationResult {
  /** secrets whose data key was re-wrapped */
  rewrapped: number
  fromKeyId: string
  toKeyId: string
  /** version of the new master key */
  version: number
}

/**
 * Re-wraps every data key from `currentKey` to `newKey` in one transaction: `ciphertext`, `nonce`
 * and `tag` are untouched and no secret is decrypted. Retires the current key and records the new
 * one as active. Nothing changes unless every row re-wraps: rows that cannot be unwrapped (altered,
 * or under another key) fail the rotation with SECRET_DECRYPT_FAILED listing their ids.
 * Refuses a `currentKey` that is not the vault's active key, and a `newKey` used before.
 */
export async function rotateMasterKey (db: Db, currentKey: Buffer, newKey: Buffer, options: { logger?: Pick<Logger, 'info'> } = {}): Promise<RotationResult> {
  const currentId = masterKeyId(currentKey)
  const newKeyId = masterKeyId(newKey)
  if (currentId === newKeyId) throw new AppError('VALIDATION_FAILED', 'The new master key is the current one; a rotation needs a different key.')
  const result = await db.transaction(async (tx) => {
    await lockVault(tx)
    let keys = await listMasterKeys(tx, true)
    if (keys.length === 0) {
      // the vault was never opened (migrated only): the current key is version 1
      await insertMasterKey(tx, currentId, 1)
      keys = await listMasterKeys(tx, true)
    }
    const active = keys.find(k => k.retiredAt === null)
    if (!active || active.id !== currentId) {
      throw new AppError('MASTER_KEY_MISMATCH',
        `The loaded master key (id ${currentId}) is not the vault's active master key${active ? ` (${active.id})` : ''}; rotate from the active key.`,
        { details: { loadedKeyId: currentId, expectedKeyIds: active ? [active.id] : [] } })
    }
    if (keys.some(k => k.id === newKeyId)) {
      throw new AppError('VALIDATION_FAILED', `The new master key (id ${newKeyId}) was used by this vault before; rotate to a fresh key.`)
    }
    const version = keys.reduce((v, k) => Math.max(v, k.version), 0) + 1
    const from = new Keyring([createMasterKey(currentKey, active.version)])
    const to = createMasterKey(newKey, version)
    const rows = await lockAllSealedSecrets(tx)
    const failed: string[] = []
    for (const row of rows) {
      let rewrapped: SealedSecret
      let previous: SealedSecret | undefined
      const ctx = { orgId: row.orgId, secretId: row.id, type: row.type }
      try {
        rewrapped = rewrapDataKey(row.sealed, ctx, from, to)
        // the value a webhook rotation replaced is sealed in the same context (docs/decisions.md)
        if (row.previous) previous = rewrapDataKey(row.previous, ctx, from, to)
      } catch (err) {
        if (!isAppError(err)) throw err
        failed.push(row.id)
        continue
      }
      await setWrappedKey(tx, row.id, rewrapped.wrappedKey, rewrapped.kekId)
      if (previous) await setPreviousWrappedKey(tx, row.id, previous.wrappedKey, previous.kekId)
    }
    if (failed.length > 0) {
      throw new AppError('SECRET_DECRYPT_FAILED',
        `Nothing was rotated: ${failed.length} secret(s) cannot be unwrapped with the current master key (altered rows, or sealed under another key): ` +
          `${failed.slice(0, 20).join(', ')}${failed.length > 20 ? ', …' : ''}. Delete or re-create them, then rotate again.`,
        { details: { secretIds: failed } })
    }
    await retireMasterKey(tx, currentId)
    await insertMasterKey(tx, newKeyId, version)
    return { rewrapped: rows.length, fromKeyId: currentId, toKeyId: newKeyId, version }
  })
  options.logger?.info(result, 'master key rotated')
  return result
}

// ---------------------------------------------------------------------------------------------
// Value validation (the API schema checks the envelope; the per-type rules live here because a
// PATCH only knows the type from the stored row). Messages name fields, never echo values.

function parseName (name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') throw invalid('name', 'must be a non-empty string')
  const trimmed = name.trim()
  if (trimmed.length > 200) throw invalid('name', 'must be at most 200 characters')
  return trimmed
}

/**
 * Checks `input` against the value shape of `type` and returns exactly its fields. Throws
 * VALIDATION_FAILED with `details.field` (e.g. "value.signingSecret"); messages never contain
 * the value.
 */
export function parseSecretValue<K extends SecretType> (type: K, input: unknown): SecretValues[K] {
  if (input === undefined || input === null) throw invalid('value', `is required for a secret of type ${type}`)
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('value', 'must be an object')
  const source = input as Record<string, unknown>
  if (!isSecretType(type)) throw invalid('type', `must be one of ${SECRET_TYPES.join(', ')}`)
  const { required, optional } = secretTypeOf(type).fields
  const allowed = [...required, ...optional]
  for (const key of Object.keys(source)) {
    if (!allowed.includes(key)) {
      // the field's name is not echoed: a value pasted in the wrong place would be
      throw invalid('value', `has a field that a${/^[aeiou]/.test(type) ? 'n' : ''} ${type} secret does not have (its fields: ${allowed.join(', ')})`)
    }
  }
  for (const key of required) if (source[key] === undefined || source[key] === null) throw invalid(`value.${key}`, 'is required')
  return secretTypeOf(type).parse(source) as SecretValues[K]
}

// ---------------------------------------------------------------------------------------------

function seal<K extends SecretType> (kek: MasterKey, ctx: { orgId: string, secretId: string, type: K }, value: SecretValues[K]): SealedSecret {
  const plaintext = encodeSecretValue(ctx.type, value)
  try {
    return encryptSecret({ ...ctx, plaintext }, kek)
  } finally {
    plaintext.fill(0)
  }
}

const notFound = (): AppError => new AppError('NOT_FOUND', 'Secret not found.')
const throwNotFound = (): never => { throw notFound() }

const typeMismatch = (secret: { id: string, type: SecretType }, expected: SecretType): AppError =>
  new AppError('SECRET_TYPE_MISMATCH', `The secret ${secret.id} is of type ${secret.type}; this use needs a secret of type ${expected}.`, {
    details: { secretId: secret.id, type: secret.type, expectedType: expected },
  })

/**
 * Replaces every occurrence of the secret's strings (4+ characters) in an error's message and
 * stack, and those of its causes: the second line of defence for SDK errors that quote a
 * credential. Connectors should still normalise errors before logging them.
 */
export function scrubError (err: unknown, strings: readonly string[]): unknown {
  const needles = [...new Set(strings)].filter(s => s.length >= 4).sort((a, b) => b.length - a.length)
  if (needles.length === 0) return err
  const scrub = (text: string): string => needles.reduce((acc, n) => acc.split(n).join(REDACTED), text)
  if (typeof err === 'string') return scrub(err)
  const seen = new Set<unknown>()
  const visit = (e: unknown, depth: number): void => {
    if (!(e instanceof Error) || seen.has(e) || depth > 5) return
    seen.add(e)
    try {
      if (typeof e.message === 'string') e.message = scrub(e.message)
      if (typeof e.stack === 'string') e.stack = scrub(e.stack)
    } catch { /* a frozen error: leave it */ }
    visit(e.cause, depth + 1)
    if (e instanceof AggregateError) for (const inner of e.errors) visit(inner, depth + 1)
  }
  visit(err, 0)
  return err
}
