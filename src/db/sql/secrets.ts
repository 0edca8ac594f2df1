import type { Queryable } from '../client.js'
import { iso, isoRequired, json } from './rows.js'
import type { SealedSecret, StoredSealedSecret } from '../../vault/crypto.js'
import type { SecretType } from '../../vault/secret.js'
import type { RedactedSecretValue } from '../../vault/redact.js'

/** A vault entry as the API shows it: metadata and the redacted display form, never the value. */
export interface SecretRecord {
  id: string
  orgId: string
  name: string
  type: SecretType
  redacted: RedactedSecretValue
  createdAt: string
  rotatedAt: string | null
}

/** A vault entry with its sealed value (the columns decryption needs). */
export interface SealedSecretRow extends SecretRecord {
  sealed: StoredSealedSecret
}

// Every query names its columns: the sealed columns are read only where something decrypts or
// re-wraps, never by the listing queries.
const META = 'id, org_id, name, type, redacted, created_at, rotated_at'
/** a sealed value's columns; the value a webhook rotation replaced sits in the same ones prefixed `previous_` */
const SEALED_COLUMNS = ['format_version', 'ciphertext', 'nonce', 'tag', 'wrapped_key', 'kek_id']
const SEALED = `${META}, ${SEALED_COLUMNS.join(', ')}`
const PREVIOUS = SEALED_COLUMNS.map(c => `previous_${c}`).join(', ')

const toRecord = (r: Record<string, unknown>): SecretRecord => ({
  id: r.id as string,
  orgId: r.org_id as string,
  name: r.name as string,
  type: r.type as SecretType,
  redacted: r.redacted as RedactedSecretValue,
  createdAt: isoRequired(r.created_at),
  rotatedAt: iso(r.rotated_at),
})

/** The sealed value in the SEALED_COLUMNS named with `prefix` ('' or 'previous_'). */
const toSealed = (r: Record<string, unknown>, prefix: '' | 'previous_'): StoredSealedSecret => ({
  formatVersion: Number(r[`${prefix}format_version`]),
  ciphertext: r[`${prefix}ciphertext`] as Uint8Array,
  nonce: r[`${prefix}nonce`] as Uint8Array,
  tag: r[`${prefix}tag`] as Uint8Array,
  wrappedKey: r[`${prefix}wrapped_key`] as Uint8Array,
  kekId: r[`${prefix}kek_id`] as string,
})

const toSealedRow = (r: Record<string, unknown>): SealedSecretRow => ({ ...toRecord(r), sealed: toSealed(r, '') })

const toPreviousSealed = (r: Record<string, unknown>): StoredSealedSecret | null =>
  r.previous_ciphertext == null ? null : toSealed(r, 'previous_')

/** Serialises vault-wide changes (startup key check, master key rotation) across processes. */
const VAULT_LOCK = 7_246_002

export async function lockVault (q: Queryable): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock($1)', [VAULT_LOCK])
}

export async function insertSecret (
  q: Queryable, s: { id: string, orgId: string, name: string, type: SecretType, redacted: RedactedSecretValue, sealed: SealedSecret },
): Promise<SecretRecord> {
  const { rows } = await q.query(
    `INSERT INTO secrets (id, org_id, name, type, format_version, ciphertext, nonce, tag, wrapped_key, kek_id, redacted)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb) RETURNING ${META}`,
    [s.id, s.orgId, s.name, s.type, s.sealed.formatVersion, s.sealed.ciphertext, s.sealed.nonce, s.sealed.tag,
      s.sealed.wrappedKey, s.sealed.kekId, json(s.redacted)])
  return toRecord(rows[0])
}

/**
 * One secret's metadata. `lock`: 'update' before changing or deleting it; 'share' to keep it from
 * being deleted or changed until the caller's transaction ends (e.g. while a data source that
 * references it is saved).
 */
export async function getSecret (q: Queryable, orgId: string, id: string, lock?: 'share' | 'update'): Promise<SecretRecord | null> {
  const suffix = lock === 'update' ? ' FOR UPDATE' : lock === 'share' ? ' FOR SHARE' : ''
  const { rows } = await q.query(`SELECT ${META} FROM secrets WHERE org_id = $1 AND id = $2${suffix}`, [orgId, id])
  return rows[0] ? toRecord(rows[0]) : null
}

export async function getSealedSecret (q: Queryable, orgId: string, id: string): Promise<SealedSecretRow | null> {
  const { rows } = await q.query(`SELECT ${SEALED} FROM secrets WHERE org_id = $1 AND id = $2`, [orgId, id])
  return rows[0] ? toSealedRow(rows[0]) : null
}

/**
 * A webhook secret's sealed value and, while `rotated_at` is less than `overlapHours` ago, the
 * sealed value it replaced (`previous`, else null). The overlap is judged by the database clock,
 * the one that stamped rotated_at.
 */
export async function getSealedSigningSecrets (
  q: Queryable, orgId: string, id: string, overlapHours: number,
): Promise<(SealedSecretRow & { previous: StoredSealedSecret | null }) | null> {
  const { rows } = await q.query(
    `SELECT ${SEALED}, ${PREVIOUS}, (rotated_at > now() - make_interval(hours => $3::int)) AS in_overlap
     FROM secrets WHERE org_id = $1 AND id = $2`, [orgId, id, overlapHours])
  if (!rows[0]) return null
  return { ...toSealedRow(rows[0]), previous: rows[0].in_overlap === true ? toPreviousSealed(rows[0]) : null }
}

/** Keyset pagination on the (time-ordered) id, oldest first. */
export async function listSecrets (q: Queryable, orgId: string, page: { limit: number, after?: string }): Promise<SecretRecord[]> {
  const { rows } = await q.query(
    `SELECT ${META} FROM secrets WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3`,
    [orgId, page.after ?? null, page.limit])
  return rows.map(toRecord)
}

export async function renameSecret (q: Queryable, orgId: string, id: string, name: string): Promise<SecretRecord | null> {
  const { rows } = await q.query(`UPDATE secrets SET name = $3 WHERE org_id = $1 AND id = $2 RETURNING ${META}`, [orgId, id, name])
  return rows[0] ? toRecord(rows[0]) : null
}

/**
 * Stores a new sealed value (a new data key, new nonces) and stamps rotated_at. `keepPrevious`
 * moves the sealed value being replaced, as it is, into previous_* (webhook rotation overlap);
 * otherwise previous_* is cleared. (In an UPDATE the right-hand sides read the row's old values.)
 */
export async function replaceSecretValue (
  q: Queryable, orgId: string, id: string, redacted: RedactedSecretValue, sealed: SealedSecret, keepPrevious = false,
): Promise<SecretRecord | null> {
  const { rows } = await q.query(
    `UPDATE secrets SET format_version = $3, ciphertext = $4, nonce = $5, tag = $6, wrapped_key = $7, kek_id = $8,
       redacted = $9::jsonb, rotated_at = now(),
       previous_format_version = CASE WHEN $10::boolean THEN format_version END,
       previous_ciphertext = CASE WHEN $10::boolean THEN ciphertext END,
       previous_nonce = CASE WHEN $10::boolean THEN nonce END,
       previous_tag = CASE WHEN $10::boolean THEN tag END,
       previous_wrapped_key = CASE WHEN $10::boolean THEN wrapped_key END,
       previous_kek_id = CASE WHEN $10::boolean THEN kek_id END
     WHERE org_id = $1 AND id = $2 RETURNING ${META}`,
    [orgId, id, sealed.formatVersion, sealed.ciphertext, sealed.nonce, sealed.tag, sealed.wrappedKey, sealed.kekId, json(redacted), keepPrevious])
  return rows[0] ? toRecord(rows[0]) : null
}

export async function deleteSecret (q: Queryable, orgId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM secrets WHERE org_id = $1 AND id = $2', [orgId, id])
  return rowCount > 0
}

/** Every secret of every organisation with its previous sealed value, if any, locked for update (master key rotation). */
export async function lockAllSealedSecrets (q: Queryable): Promise<Array<SealedSecretRow & { previous: StoredSealedSecret | null }>> {
  const { rows } = await q.query(`SELECT ${SEALED}, ${PREVIOUS} FROM secrets ORDER BY id FOR UPDATE`)
  return rows.map(r => ({ ...toSealedRow(r), previous: toPreviousSealed(r) }))
}

/** Rotation: only the wrapped data key and its master key id change; ciphertext, nonce and tag stay. */
export async function setWrappedKey (q: Queryable, id: string, wrappedKey: Buffer, kekId: string): Promise<void> {
  await q.query('UPDATE secrets SET wrapped_key = $2, kek_id = $3 WHERE id = $1', [id, wrappedKey, kekId])
}

/** The same for the previous value kept for a webhook rotation overlap. */
export async function setPreviousWrappedKey (q: Queryable, id: string, wrappedKey: Buffer, kekId: string): Promise<void> {
  await q.query('UPDATE secrets SET previous_wrapped_key = $2, previous_kek_id = $3 WHERE id = $1', [id, wrappedKey, kekId])
}

/** How many sealed values (current and previous) each master key (other than `kekId`) wraps. */
export async function countSecretsByOtherKek (q: Queryable, kekId: string): Promise<Array<{ kekId: string, count: number }>> {
  const { rows } = await q.query<{ kek_id: string, n: number }>(
    `SELECT kek_id, count(*) AS n FROM (
       SELECT kek_id FROM secrets UNION ALL SELECT previous_kek_id FROM secrets WHERE previous_kek_id IS NOT NULL
     ) k WHERE kek_id <> $1 GROUP BY kek_id ORDER BY count(*) DESC`, [kekId])
  return rows.map(r => ({ kekId: r.kek_id, count: Number(r.n) }))
}

// ---------------------------------------------------------------------------------------------
// Master key versions (fingerprints only, never key material)

export interface MasterKeyRecord {
  id: string
  version: number
  createdAt: string
  retiredAt: string | null
}

const toMasterKey = (r: Record<string, unknown>): MasterKeyRecord => ({
  id: r.id as string,
  version: Number(r.version),
  createdAt: isoRequired(r.created_at),
  retiredAt: iso(r.retired_at),
})

/** All master key versions, oldest first; `lock` takes row locks on them (rotation). */
export async function listMasterKeys (q: Queryable, lock = false): Promise<MasterKeyRecord[]> {
  const { rows } = await q.query(`SELECT * FROM vault_master_keys ORDER BY version${lock ? ' FOR UPDATE' : ''}`)
  return rows.map(toMasterKey)
}

export async function insertMasterKey (q: Queryable, id: string, version: number): Promise<MasterKeyRecord> {
  const { rows } = await q.query('INSERT INTO vault_master_keys (id, version) VALUES ($1, $2) RETURNING *', [id, version])
  return toMasterKey(rows[0])
}

export async function retireMasterKey (q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE vault_master_keys SET retired_at = now() WHERE id = $1 AND retired_at IS NULL', [id])
}

/**
 * The master key row `id` if it is still the active one, share-locked until the caller's
 * transaction ends: a write that seals under this key cannot interleave with a rotation, and one
 * that comes after a rotation sees that its key was retired.
 */
export async function lockActiveMasterKey (q: Queryable, id: string): Promise<MasterKeyRecord | null> {
  const { rows } = await q.query('SELECT * FROM vault_master_keys WHERE id = $1 AND retired_at IS NULL FOR SHARE', [id])
  return rows[0] ? toMasterKey(rows[0]) : null
}
