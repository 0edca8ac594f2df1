import type { Queryable } from '../client.js'
import { isoRequired } from './rows.js'

export interface Organisation { id: string, name: string, createdAt: string }

const toOrg = (r: Record<string, unknown>): Organisation =>
  ({ id: r.id as string, name: r.name as string, createdAt: isoRequired(r.created_at) })

export async function insertOrg (q: Queryable, org: { id: string, name: string }): Promise<Organisation> {
  const { rows } = await q.query('INSERT INTO organisations (id, name) VALUES ($1, $2) RETURNING *', [org.id, org.name])
  return toOrg(rows[0])
}

/** The organisation named "default" (the bootstrap's), else the oldest one; null on an empty database. */
export async function findHomeOrg (q: Queryable): Promise<Organisation | null> {
  const { rows } = await q.query(`SELECT * FROM organisations ORDER BY (name = 'default') DESC, created_at, id LIMIT 1`)
  return rows[0] ? toOrg(rows[0]) : null
}

export async function getOrg (q: Queryable, id: string): Promise<Organisation | null> {
  const { rows } = await q.query('SELECT * FROM organisations WHERE id = $1', [id])
  return rows[0] ? toOrg(rows[0]) : null
}
