import type { Queryable } from '../client.js'
import { iso, isoRequired, json } from './rows.js'

export type PendingItemType = 'DATA_SOURCE_PULL_FAILED' | 'DATA_SOURCE_PUSH_FAILED'
export type PendingItemStatus = 'open' | 'resolved'
/** Which channels hear of an item: every channel of the agent, or these ids. */
export type NotifySelection = 'all' | string[]

export interface PendingItem {
  id: string
  orgId: string
  agentId: string
  sourceId: string
  type: PendingItemType
  status: PendingItemStatus
  message: string
  occurrences: number
  notify: NotifySelection
  firstSeenAt: string
  lastSeenAt: string
  resolvedAt: string | null
  resolution: 'manual' | 'auto' | null
}

const toItem = (r: Record<string, unknown>): PendingItem => ({
  id: r.id as string,
  orgId: r.org_id as string,
  agentId: r.agent_id as string,
  sourceId: r.source_id as string,
  type: r.type as PendingItemType,
  status: r.status as PendingItemStatus,
  message: r.message as string,
  occurrences: r.occurrences as number,
  notify: (r.notify as NotifySelection | null) ?? 'all',
  firstSeenAt: isoRequired(r.first_seen_at),
  lastSeenAt: isoRequired(r.last_seen_at),
  resolvedAt: iso(r.resolved_at),
  resolution: (r.resolution as PendingItem['resolution']) ?? null,
})

/**
 * Opens the (source, type) item, or — when one is open — counts the repeat: occurrences + 1,
 * last_seen_at bumped, message replaced by the latest (the newest diagnosis is the useful one).
 * One statement on the partial unique index, so concurrent reports of one source cannot open two.
 * `opened` is true when this call created the item (xmax = 0 only on a fresh insert).
 */
export async function upsertOpenItem (
  q: Queryable, i: { id: string, orgId: string, agentId: string, sourceId: string, type: PendingItemType, message: string, notify: NotifySelection },
): Promise<{ item: PendingItem, opened: boolean }> {
  const { rows } = await q.query(
    `INSERT INTO pending_items (id, org_id, agent_id, source_id, type, status, message, notify)
     VALUES ($1, $2, $3, $4, $5, 'open', $6, $7::jsonb)
     ON CONFLICT (source_id, type) WHERE status = 'open' DO UPDATE
       SET occurrences = pending_items.occurrences + 1, last_seen_at = now(), message = EXCLUDED.message
     RETURNING *, (xmax = 0) AS inserted`,
    [i.id, i.orgId, i.agentId, i.sourceId, i.type, i.message, json(i.notify)])
  return { item: toItem(rows[0]), opened: rows[0].inserted === true }
}

/** Resolves the open (source, type) item, if any; null when nothing was open. */
export async function resolveOpenItem (q: Queryable, sourceId: string, type: PendingItemType, resolution: 'manual' | 'auto'): Promise<PendingItem | null> {
  const { rows } = await q.query(
    `UPDATE pending_items SET status = 'resolved', resolved_at = now(), resolution = $3
     WHERE source_id = $1 AND type = $2 AND status = 'open' RETURNING *`, [sourceId, type, resolution])
  return rows[0] ? toItem(rows[0]) : null
}

/** Resolves one item by id (scoped to org and agent); null when it is not there or not open. */
export async function resolveItemById (q: Queryable, orgId: string, agentId: string, id: string, resolution: 'manual' | 'auto'): Promise<PendingItem | null> {
  const { rows } = await q.query(
    `UPDATE pending_items SET status = 'resolved', resolved_at = now(), resolution = $4
     WHERE org_id = $1 AND agent_id = $2 AND id = $3 AND status = 'open' RETURNING *`, [orgId, agentId, id, resolution])
  return rows[0] ? toItem(rows[0]) : null
}

export async function getItem (q: Queryable, orgId: string, agentId: string, id: string): Promise<PendingItem | null> {
  const { rows } = await q.query('SELECT * FROM pending_items WHERE org_id = $1 AND agent_id = $2 AND id = $3', [orgId, agentId, id])
  return rows[0] ? toItem(rows[0]) : null
}

export async function getItemById (q: Queryable, id: string): Promise<PendingItem | null> {
  const { rows } = await q.query('SELECT * FROM pending_items WHERE id = $1', [id])
  return rows[0] ? toItem(rows[0]) : null
}

export async function getOpenItem (q: Queryable, sourceId: string, type: PendingItemType): Promise<PendingItem | null> {
  const { rows } = await q.query(`SELECT * FROM pending_items WHERE source_id = $1 AND type = $2 AND status = 'open'`, [sourceId, type])
  return rows[0] ? toItem(rows[0]) : null
}

/** An agent's items: open ones first, then newest first; optionally one status only. */
export async function listItems (q: Queryable, orgId: string, agentId: string, filter: { status?: PendingItemStatus, limit: number }): Promise<PendingItem[]> {
  const { rows } = await q.query(
    `SELECT * FROM pending_items WHERE org_id = $1 AND agent_id = $2 AND ($3::text IS NULL OR status = $3)
     ORDER BY (status = 'open') DESC, last_seen_at DESC, id DESC LIMIT $4`,
    [orgId, agentId, filter.status ?? null, filter.limit])
  return rows.map(toItem)
}
