import type { Queryable } from '../db/client.js'
import { insertAuditEntry, listAuditEntries, type AuditRow, type Changes } from '../db/sql/audit.js'
import type { Role } from '../auth/roles.js'
import { newId } from '../util/ids.js'
import type { AuditResourceType } from './resource-types.js'

/**
 * The audit log (docs/security.md, "Audit log"): who changed what. Every entry is written with the
 * caller's query handle, inside the transaction of the change it records, so an entry exists
 * exactly when its change does.
 */

/** Who acted: an API key (as it was at the time), or the CLI on the database host (`apiKeyId` null). */
export interface Actor {
  orgId: string
  apiKeyId: string | null
  name: string
  role: Role
}

export { AUDIT_RESOURCE_TYPES, type AuditResourceType } from './resource-types.js'

export type AuditAction = 'create' | 'update' | 'delete' | 'revoke' | 'reset' | 'test' | 'pull' | 'push' | 'resolve' | 'cancel' | 'retry'

export interface AuditEvent {
  action: AuditAction
  resourceType: AuditResourceType
  resourceId: string
  changes?: Changes
}

export async function recordAudit (q: Queryable, actor: Actor, event: AuditEvent): Promise<void> {
  const changes = event.changes && Object.keys(event.changes).length > 0 ? event.changes : undefined
  await insertAuditEntry(q, {
    id: newId(),
    orgId: actor.orgId,
    actor: { apiKeyId: actor.apiKeyId, name: actor.name, role: actor.role },
    action: event.action,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    ...(changes ? { changes } : {}),
  })
}

/** The fields whose value differs between `before` and `after` (compared as JSON, so nested config counts). */
export function diff<T extends object> (before: T, after: T, fields: ReadonlyArray<keyof T & string>): Changes {
  const changes: Changes = {}
  for (const field of fields) {
    const a = before[field]
    const b = after[field]
    if (JSON.stringify(a) !== JSON.stringify(b)) changes[field] = { before: a ?? null, after: b ?? null }
  }
  return changes
}

/** The organisation's audit log, newest first, a page at a time (optionally of one resource). */
export async function listAuditLog (
  deps: { db: Queryable }, orgId: string, filter: { limit: number, before?: string, resourceType?: string, resourceId?: string },
): Promise<AuditRow[]> {
  return listAuditEntries(deps.db, orgId, filter)
}
