import type { Queryable } from '../client.js'
import { iso, isoRequired } from './rows.js'

export type DeliveryState = 'pending' | 'delivering' | 'delivered' | 'retrying' | 'failed' | 'disabled' | 'cancelled'
export const OPEN_DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'delivering', 'retrying']

export interface Delivery {
  id: string
  orgId: string
  sinkId: string
  jobId: string
  syncId: string
  webhookId: string
  state: DeliveryState
  /** attempts started so far */
  attempt: number
  leaseToken: string | null
  nextAttemptAt: string | null
  createdAt: string
  finishedAt: string | null
}

const toDelivery = (r: Record<string, unknown>): Delivery => ({
  id: r.id as string,
  orgId: r.org_id as string,
  sinkId: r.sink_id as string,
  jobId: r.job_id as string,
  syncId: r.sync_id as string,
  webhookId: r.webhook_id as string,
  state: r.state as DeliveryState,
  attempt: r.attempt as number,
  leaseToken: (r.lease_token as string | null) ?? null,
  nextAttemptAt: iso(r.next_attempt_at),
  createdAt: isoRequired(r.created_at),
  finishedAt: iso(r.finished_at),
})

export async function insertDelivery (
  q: Queryable, d: { id: string, orgId: string, sinkId: string, jobId: string, syncId: string, webhookId: string },
): Promise<Delivery> {
  const { rows } = await q.query(
    `INSERT INTO push_deliveries (id, org_id, sink_id, job_id, sync_id, webhook_id, state) VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING *`,
    [d.id, d.orgId, d.sinkId, d.jobId, d.syncId, d.webhookId])
  return toDelivery(rows[0])
}

export async function getDeliveryBySync (q: Queryable, syncId: string): Promise<Delivery | null> {
  const { rows } = await q.query('SELECT * FROM push_deliveries WHERE sync_id = $1', [syncId])
  return rows[0] ? toDelivery(rows[0]) : null
}

/** The delivery of a push, locked for the caller's transaction (cancel, retry now). */
export async function lockDeliveryOfSync (q: Queryable, syncId: string): Promise<Delivery | null> {
  const { rows } = await q.query('SELECT * FROM push_deliveries WHERE sync_id = $1 FOR UPDATE', [syncId])
  return rows[0] ? toDelivery(rows[0]) : null
}

/** Retry now: a retrying delivery becomes due at once (its claim checks next_attempt_at). */
export async function makeDeliveryDue (q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE push_deliveries SET next_attempt_at = now() WHERE id = $1 AND state = 'retrying'`, [id])
}

/** An unfinished push of this job to this sink, if any (a second one would repeat it). */
export async function openDeliveryOf (q: Queryable, jobId: string, sinkId: string): Promise<Delivery | null> {
  const { rows } = await q.query(
    `SELECT * FROM push_deliveries WHERE job_id = $1 AND sink_id = $2 AND state IN ('pending', 'delivering', 'retrying')
     ORDER BY id DESC LIMIT 1`, [jobId, sinkId])
  return rows[0] ? toDelivery(rows[0]) : null
}

/**
 * pending/retrying (when due) → delivering, or takes over a `delivering` whose lease expired (its
 * worker died mid-attempt). Counts the attempt and hands out a fresh lease token; `takenOver` says
 * the previous attempt's outcome was never recorded. Null when the delivery is finished, held by a
 * live worker, or not yet due.
 */
export async function claimDelivery (q: Queryable, syncId: string, token: string, leaseMs: number): Promise<{ delivery: Delivery, takenOver: boolean } | null> {
  const { rows } = await q.query(
    `WITH current AS (SELECT id, state FROM push_deliveries WHERE sync_id = $1 FOR UPDATE)
     UPDATE push_deliveries d SET state = 'delivering', attempt = d.attempt + 1, lease_token = $2,
       lease_expires_at = now() + make_interval(secs => $3::double precision / 1000), next_attempt_at = NULL
     FROM current
     WHERE d.id = current.id AND (
       (d.state IN ('pending', 'retrying') AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now() + interval '1 second'))
       OR (d.state = 'delivering' AND d.lease_expires_at < now()))
     RETURNING d.*, current.state AS previous_state`, [syncId, token, leaseMs])
  if (!rows[0]) return null
  return { delivery: toDelivery(rows[0]), takenOver: rows[0].previous_state === 'delivering' }
}

/** Extends the lease just before the request goes out; false when another worker took over. */
export async function renewDeliveryLease (q: Queryable, id: string, token: string, leaseMs: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE push_deliveries SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
     WHERE id = $1 AND lease_token = $2 AND state = 'delivering'`, [id, token, leaseMs])
  return rowCount > 0
}

/**
 * Inside the transaction that records an attempt: locks the row and checks the lease is still ours.
 * A worker that lost its lease (stalled past expiry, taken over) records nothing.
 */
export async function holdsDelivery (q: Queryable, id: string, token: string): Promise<boolean> {
  const { rows } = await q.query('SELECT lease_token, state FROM push_deliveries WHERE id = $1 FOR UPDATE', [id])
  return rows[0]?.lease_token === token && rows[0]?.state === 'delivering'
}

/** Records the state an attempt led to and releases the lease (in the holder's transaction). */
export async function setDeliveryState (
  q: Queryable, id: string, state: Exclude<DeliveryState, 'pending' | 'delivering'>, nextAttemptAt: Date | null,
): Promise<void> {
  await q.query(
    `UPDATE push_deliveries SET state = $2, next_attempt_at = $3, lease_token = NULL, lease_expires_at = NULL,
       finished_at = CASE WHEN $2 IN ('delivered', 'failed', 'disabled', 'cancelled') THEN now() ELSE NULL END
     WHERE id = $1`, [id, state, nextAttemptAt])
}

/**
 * Open deliveries nobody is working on: a lease that expired (the worker died) or an attempt that is
 * overdue by more than `graceMs` (its queued job was lost). The sweeper queues them again.
 */
export async function strandedDeliveries (q: Queryable, graceMs: number, limit: number): Promise<Delivery[]> {
  const { rows } = await q.query(
    `SELECT * FROM push_deliveries
     WHERE (state = 'delivering' AND lease_expires_at < now())
        OR (state IN ('pending', 'retrying') AND coalesce(next_attempt_at, created_at) < now() - make_interval(secs => $1::double precision / 1000))
     ORDER BY id LIMIT $2`, [graceMs, limit])
  return rows.map(toDelivery)
}
