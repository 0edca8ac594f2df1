import type { Queryable } from '../client.js'
import { isoRequired } from './rows.js'

export interface InboundDelivery {
  sourceId: string
  webhookId: string
  /** null only if the sync was deleted since */
  syncId: string | null
  receivedAt: string
}

const toDelivery = (r: Record<string, unknown>): InboundDelivery => ({
  sourceId: r.source_id as string,
  webhookId: r.webhook_id as string,
  syncId: (r.sync_id as string | null) ?? null,
  receivedAt: isoRequired(r.received_at),
})

export async function findDelivery (q: Queryable, sourceId: string, webhookId: string): Promise<InboundDelivery | null> {
  const { rows } = await q.query('SELECT * FROM inbound_deliveries WHERE source_id = $1 AND webhook_id = $2', [sourceId, webhookId])
  return rows[0] ? toDelivery(rows[0]) : null
}

/**
 * Claims a webhook-id for a source. False when it is already taken. On PostgreSQL a concurrent
 * claim of the same id waits here until the other transaction ends: it then either finds the id
 * taken (the other committed) or takes it (the other rolled back). The primary key decides.
 */
export async function insertDelivery (q: Queryable, d: { sourceId: string, webhookId: string, syncId: string }): Promise<boolean> {
  const { rowCount } = await q.query(
    'INSERT INTO inbound_deliveries (source_id, webhook_id, sync_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [d.sourceId, d.webhookId, d.syncId])
  return rowCount > 0
}

/** Forgets a source's webhook-ids older than the retention window; returns how many. */
export async function purgeDeliveries (q: Queryable, sourceId: string, retentionDays: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM inbound_deliveries WHERE source_id = $1 AND received_at < now() - make_interval(days => $2)`, [sourceId, retentionDays])
  return rowCount
}

export interface LastDelivery extends InboundDelivery {
  status: string | null
  rowsAccepted: number | null
  rowsRejected: number | null
  error: { code: string, message: string } | null
}

/** The most recent accepted delivery of a source with its sync's outcome (the test endpoint). */
export async function lastDelivery (q: Queryable, sourceId: string): Promise<LastDelivery | null> {
  const { rows } = await q.query(
    `SELECT d.*, s.status, s.rows_accepted, s.rows_rejected, s.error FROM inbound_deliveries d
     LEFT JOIN syncs s ON s.id = d.sync_id
     WHERE d.source_id = $1 ORDER BY d.received_at DESC, d.sync_id DESC LIMIT 1`, [sourceId])
  const r = rows[0]
  if (!r) return null
  return {
    ...toDelivery(r),
    status: (r.status as string | null) ?? null,
    rowsAccepted: (r.rows_accepted as number | null) ?? null,
    rowsRejected: (r.rows_rejected as number | null) ?? null,
    error: (r.error as LastDelivery['error']) ?? null,
  }
}
