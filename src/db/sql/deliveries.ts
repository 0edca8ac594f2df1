import type { Queryable } from '../client.js'
import { iso, isoRequired, json } from './rows.js'
import type { ManifestEntry, Sync } from './syncs.js'

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
 * worker died mid-attempt), for a batch of pushes in one statement. Counts each attempt and hands
 * out the lease `token` (one per batch: it names the claiming worker's attempt); `takenOver` says
 * the previous attempt's outcome was never recorded. A delivery that is finished, held by a live
 * worker, or not yet due is left out. The rows are locked in id order, so two workers claiming
 * overlapping batches wait for each other instead of deadlocking; the one that waited re-reads the
 * row and finds it `delivering` under a live lease.
 */
export async function claimDeliveries (
  q: Queryable, syncIds: string[], token: string, leaseMs: number,
): Promise<Array<{ delivery: Delivery, takenOver: boolean }>> {
  const { rows } = await q.query(
    `WITH current AS (SELECT id, state FROM push_deliveries WHERE sync_id = ANY($1::uuid[]) ORDER BY id FOR UPDATE)
     UPDATE push_deliveries d SET state = 'delivering', attempt = d.attempt + 1, lease_token = $2,
       lease_expires_at = now() + make_interval(secs => $3::double precision / 1000), next_attempt_at = NULL
     FROM current
     WHERE d.id = current.id AND (
       (d.state IN ('pending', 'retrying') AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now() + interval '1 second'))
       OR (d.state = 'delivering' AND d.lease_expires_at < now()))
     RETURNING d.*, current.state AS previous_state`, [syncIds, token, leaseMs])
  return rows.map(r => ({ delivery: toDelivery(r), takenOver: r.previous_state === 'delivering' }))
}

/**
 * Extends the leases of these deliveries (all claimed with `token`): right before their requests
 * go out, and every few seconds while they run. Returns the ids still held; one missing was taken
 * over by another worker.
 */
export async function renewDeliveryLeases (q: Queryable, ids: string[], token: string, leaseMs: number): Promise<Set<string>> {
  const { rows } = await q.query<{ id: string }>(
    `UPDATE push_deliveries SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
     WHERE id = ANY($1::uuid[]) AND lease_token = $2 AND state = 'delivering' RETURNING id`, [ids, token, leaseMs])
  return new Set(rows.map(r => r.id))
}

/** Records the state an attempt led to and releases the lease (cancel: in the caller's transaction). */
export async function setDeliveryState (
  q: Queryable, id: string, state: Exclude<DeliveryState, 'pending' | 'delivering'>, nextAttemptAt: Date | null,
): Promise<void> {
  await q.query(
    `UPDATE push_deliveries SET state = $2, next_attempt_at = $3, lease_token = NULL, lease_expires_at = NULL,
       finished_at = CASE WHEN $2 IN ('delivered', 'failed', 'disabled', 'cancelled') THEN now() ELSE NULL END
     WHERE id = $1`, [id, state, nextAttemptAt])
}

export interface AttemptRecord {
  id: string
  token: string
  state: Exclude<DeliveryState, 'pending' | 'delivering'>
  nextAttemptAt: Date | null
  /** the push's one manifest entry, replacing the previous attempt's */
  entry: ManifestEntry
  share: { files: number, bytes: number, rowsAccepted: number, rowsRejected: number }
  /** a final state closes the sync with this status (and error); null while a retry is pending */
  close: { status: 'succeeded' | 'failed', error: Sync['error'] } | null
}

/**
 * Records an attempt in one statement, fenced by the lease: the delivery's new state (the lease
 * released), the sync's manifest entry and counters, and — for a final state — the sync closed
 * with its one-entry manifest. The UPDATE of the delivery row is the fence: it matches only while
 * `token` is still the lease (a takeover that committed first is what it reads after waiting for
 * the row lock), and every other part runs only when it matched. Null when the lease was lost
 * (nothing recorded); otherwise whether the sink has an open DATA_SOURCE_PUSH_FAILED item, which a
 * delivered push resolves (src/push/service.ts), so a push to a sink without one needs no further
 * statement.
 */
export async function recordAttempt (q: Queryable, r: AttemptRecord): Promise<{ openPushItem: boolean } | null> {
  const { rows } = await q.query<{ open_push_item: boolean }>(
    `WITH held AS (
       UPDATE push_deliveries SET state = $3, next_attempt_at = $4, lease_token = NULL, lease_expires_at = NULL,
         finished_at = CASE WHEN $3 IN ('delivered', 'failed', 'disabled', 'cancelled') THEN now() ELSE NULL END
       WHERE id = $1 AND lease_token = $2 AND state = 'delivering' RETURNING sync_id, sink_id),
     cleared AS (DELETE FROM sync_manifest_entries m USING held WHERE m.sync_id = held.sync_id),
     added AS (
       INSERT INTO sync_manifest_entries (sync_id, entry, files, bytes, rows_accepted, rows_rejected)
       SELECT sync_id, $5::jsonb, $6, $7, $8, $9 FROM held WHERE $10::text IS NULL),
     synced AS (
       UPDATE syncs s SET files_count = $6, bytes = $7, rows_accepted = $8, rows_rejected = $9,
         status = coalesce($10, s.status), error = CASE WHEN $10 IS NULL THEN s.error ELSE $11::jsonb END,
         finished_at = CASE WHEN $10 IS NULL THEN s.finished_at ELSE now() END,
         progress = CASE WHEN $10 IS NULL THEN s.progress END,
         manifest_json = CASE WHEN $10 IS NULL THEN s.manifest_json ELSE jsonb_build_array($5::jsonb) END
       FROM held WHERE s.id = held.sync_id AND s.status = 'running')
     SELECT EXISTS (
       SELECT 1 FROM pending_items p WHERE p.source_id = held.sink_id AND p.type = 'DATA_SOURCE_PUSH_FAILED' AND p.status = 'open'
     ) AS open_push_item FROM held`,
    [r.id, r.token, r.state, r.nextAttemptAt, json(r.entry), r.share.files, r.share.bytes, r.share.rowsAccepted, r.share.rowsRejected,
      r.close?.status ?? null, r.close?.error ? json(r.close.error) : null])
  return rows[0] ? { openPushItem: rows[0].open_push_item } : null
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
