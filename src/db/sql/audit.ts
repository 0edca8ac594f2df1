import type { Queryable } from '../client.js'
import { isoRequired, json } from './rows.js'
import type { Role } from '../../auth/roles.js'

/** Per changed field, its value before and after; secret values appear only in their redacted API form. */
export type Changes = Record<string, { before?: unknown, after?: unknown }>

export interface AuditRow {
  id: string
  orgId: string
  at: string
  actor: { apiKeyId: string | null, name: string, role: Role }
  action: string
  resourceType: string
  resourceId: string
  changes?: Changes
}

const toEntry = (r: Record<string, unknown>): AuditRow => ({
  id: r.id as string,
  orgId: r.org_id as string,
  at: isoRequired(r.at),
  actor: { apiKeyId: (r.actor_key_id as string | null) ?? null, name: r.actor_name as string, role: r.actor_role as Role },
  action: r.action as string,
  resourceType: r.resource_type as string,
  resourceId: r.resource_id as string,
  ...(r.changes ? { changes: r.changes as Changes } : {}),
})

export async function insertAuditEntry (q: Queryable, e: Omit<AuditRow, 'at'>): Promise<void> {
  await q.query(
    `INSERT INTO audit_log (id, org_id, actor_key_id, actor_name, actor_role, action, resource_type, resource_id, changes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
    [e.id, e.orgId, e.actor.apiKeyId, e.actor.name, e.actor.role, e.action, e.resourceType, e.resourceId, e.changes ? json(e.changes) : null])
}

/** Newest first, keyset on the (time-ordered) id. */
export async function listAuditEntries (
  q: Queryable, orgId: string, filter: { limit: number, before?: string, resourceType?: string, resourceId?: string },
): Promise<AuditRow[]> {
  const { rows } = await q.query(
    `SELECT * FROM audit_log
     WHERE org_id = $1 AND ($2::uuid IS NULL OR id < $2::uuid)
       AND ($3::text IS NULL OR resource_type = $3) AND ($4::text IS NULL OR resource_id = $4)
     ORDER BY id DESC LIMIT $5`,
    [orgId, filter.before ?? null, filter.resourceType ?? null, filter.resourceId ?? null, filter.limit])
  return rows.map(toEntry)
}
