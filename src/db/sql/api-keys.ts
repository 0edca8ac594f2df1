import type { Queryable } from '../client.js'
import type { Role } from '../../auth/roles.js'
import { iso, isoRequired } from './rows.js'

export interface ApiKeyRecord {
  id: string
  orgId: string
  name: string
  hint: string
  role: Role
  isInstanceAdmin: boolean
  createdAt: string
  lastUsedAt: string | null
  expiresAt: string | null
}

const toKey = (r: Record<string, unknown>): ApiKeyRecord => ({
  id: r.id as string,
  orgId: r.org_id as string,
  name: r.name as string,
  hint: r.key_hint as string,
  role: r.role as Role,
  isInstanceAdmin: r.is_instance_admin as boolean,
  createdAt: isoRequired(r.created_at),
  lastUsedAt: iso(r.last_used_at),
  expiresAt: iso(r.expires_at),
})

export interface NewApiKey { id: string, orgId: string, name: string, hash: string, hint: string, role: Role, isInstanceAdmin: boolean, expiresAt: Date | null }

export async function insertApiKey (q: Queryable, key: NewApiKey): Promise<ApiKeyRecord> {
  const { rows } = await q.query(
    `INSERT INTO api_keys (id, org_id, name, key_hash, key_hint, role, is_instance_admin, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
    [key.id, key.orgId, key.name, key.hash, key.hint, key.role, key.isInstanceAdmin, key.expiresAt])
  return toKey(rows[0])
}

export async function countApiKeys (q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*) AS n FROM api_keys')
  return rows[0].n
}

export async function findApiKeyByHash (q: Queryable, hash: string): Promise<ApiKeyRecord | null> {
  const { rows } = await q.query('SELECT * FROM api_keys WHERE key_hash = $1', [hash])
  return rows[0] ? toKey(rows[0]) : null
}

/** Coarse on purpose (once a minute per key): a write on every request would cost more than it tells. */
export async function touchApiKey (q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE api_keys SET last_used_at = now()
    WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, [id])
}

/**
 * An organisation's keys. The instance-admin key is listed only to itself: to every other key of
 * its organisation it does not exist (docs/security.md, "API keys and roles").
 */
export async function listApiKeys (q: Queryable, orgId: string, callerKeyId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await q.query('SELECT * FROM api_keys WHERE org_id = $1 AND (NOT is_instance_admin OR id = $2) ORDER BY id', [orgId, callerKeyId])
  return rows.map(toKey)
}

/** Deletes an ordinary key of the organisation; the instance-admin key is never deleted here (`ferry admin-key reset` replaces it). */
export async function deleteApiKey (q: Queryable, orgId: string, id: string): Promise<ApiKeyRecord | null> {
  const { rows } = await q.query('DELETE FROM api_keys WHERE org_id = $1 AND id = $2 AND NOT is_instance_admin RETURNING *', [orgId, id])
  return rows[0] ? toKey(rows[0]) : null
}

/** Removes every instance-admin key (`ferry admin-key reset`); returns them. */
export async function deleteInstanceAdminKeys (q: Queryable): Promise<ApiKeyRecord[]> {
  const { rows } = await q.query('DELETE FROM api_keys WHERE is_instance_admin RETURNING *')
  return rows.map(toKey)
}

/**
 * Serialises creating and replacing the instance-admin key until the caller's transaction ends: two
 * processes starting together on one PostgreSQL create one organisation "default", not two.
 */
export async function lockInstanceAdminKey (tx: Queryable): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [7_246_002])
}
