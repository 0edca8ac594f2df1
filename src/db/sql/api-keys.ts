import type { Queryable } from '../client.js'
import { iso, isoRequired } from './rows.js'

export interface ApiKeyRecord {
  id: string
  orgId: string
  name: string
  hint: string
  isInstanceAdmin: boolean
  createdAt: string
  lastUsedAt: string | null
}

const toKey = (r: Record<string, unknown>): ApiKeyRecord => ({
  id: r.id as string,
  orgId: r.org_id as string,
  name: r.name as string,
  hint: r.key_hint as string,
  isInstanceAdmin: r.is_instance_admin as boolean,
  createdAt: isoRequired(r.created_at),
  lastUsedAt: iso(r.last_used_at),
})

export async function insertApiKey (q: Queryable, key: { id: string, orgId: string, name: string, hash: string, hint: string, isInstanceAdmin: boolean }): Promise<ApiKeyRecord> {
  const { rows } = await q.query(
    `INSERT INTO api_keys (id, org_id, name, key_hash, key_hint, is_instance_admin)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [key.id, key.orgId, key.name, key.hash, key.hint, key.isInstanceAdmin])
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

export async function listApiKeys (q: Queryable, orgId: string): Promise<ApiKeyRecord[]> {
  const { rows } = await q.query('SELECT * FROM api_keys WHERE org_id = $1 ORDER BY id', [orgId])
  return rows.map(toKey)
}

export async function deleteApiKey (q: Queryable, orgId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM api_keys WHERE org_id = $1 AND id = $2', [orgId, id])
  return rowCount > 0
}
