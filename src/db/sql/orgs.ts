import type { Queryable } from '../client.js'
import { isoRequired } from './rows.js'

export interface Organisation { id: string, name: string, createdAt: string }

const toOrg = (r: Record<string, unknown>): Organisation =>
  ({ id: r.id as string, name: r.name as string, createdAt: isoRequired(r.created_at) })

export async function insertOrg (q: Queryable, org: { id: string, name: string }): Promise<Organisation> {
  const { rows } = await q.query('INSERT INTO organisations (id, name) VALUES ($1, $2) RETURNING *', [org.id, org.name])
  return toOrg(rows[0])
}
