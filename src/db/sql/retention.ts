import type { Queryable } from '../client.js'

/*
 * The retention purge (src/retention/purge.ts, docs/reliability.md "Retention"). Every statement here
 * touches at most `limit` rows of the table it names (plus a bounded cascade, noted per statement), so
 * no statement holds locks or a connection for long however much is due.
 */

/**
 * Claims a maintenance task for one run across every process: true for exactly one caller per
 * `everySeconds` (the UPDATE of a concurrent claim re-checks the row once the first commits).
 */
export async function claimMaintenance (q: Queryable, task: string, everySeconds: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO maintenance_runs AS m (task, started_at) VALUES ($1, now())
     ON CONFLICT (task) DO UPDATE SET started_at = now(), finished_at = NULL
     WHERE m.started_at <= now() - make_interval(secs => $2)`, [task, everySeconds])
  return rowCount > 0
}

export async function finishMaintenance (q: Queryable, task: string): Promise<void> {
  await q.query('UPDATE maintenance_runs SET finished_at = now() WHERE task = $1', [task])
}

/**
 * Finished syncs older than the cutoff. Cascades: the sync's manifest entries (none once a sync has
 * closed) and its push delivery (one per outbound sync); inbound webhook-ids keep blocking replays
 * with sync_id NULL. A sync whose push still waits for an attempt is kept.
 */
export async function purgeSyncs (q: Queryable, cutoff: Date, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM syncs WHERE id IN (
       SELECT s.id FROM syncs s WHERE s.finished_at < $1
         AND NOT EXISTS (SELECT 1 FROM push_deliveries d WHERE d.sync_id = s.id AND d.state IN ('pending', 'delivering', 'retrying'))
       ORDER BY s.finished_at LIMIT $2)`, [cutoff, limit])
  return rowCount
}

export async function purgeAuditLog (q: Queryable, cutoff: Date, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)', [cutoff, limit])
  return rowCount
}

/** Notifications sent or given up on before the cutoff (one still queued is kept). */
export async function purgeChannelDeliveries (q: Queryable, cutoff: Date, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM channel_deliveries WHERE id IN (
       SELECT id FROM channel_deliveries WHERE created_at < $1 AND status <> 'queued' ORDER BY created_at LIMIT $2)`, [cutoff, limit])
  return rowCount
}

/** Inbound webhook-ids past their replay window, across every source (each delivery also purges its own source's). */
export async function purgeInboundIds (q: Queryable, cutoff: Date, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM inbound_deliveries WHERE (source_id, webhook_id) IN (
       SELECT source_id, webhook_id FROM inbound_deliveries WHERE received_at < $1 ORDER BY received_at LIMIT $2)`, [cutoff, limit])
  return rowCount
}

export interface ExpiredUpload {
  id: string
  seq: number
  jobIds: string[]
}

/**
 * Uploads older than the cutoff that nothing kept still needs: no mapping job of theirs is newer
 * than the cutoff, still queued or running, or referenced by a push delivery (pushes older than the
 * cutoff went with their syncs first). Their mapping jobs go with them (a job is its upload's projection).
 */
export async function expiredUploads (q: Queryable, cutoff: Date, limit: number): Promise<ExpiredUpload[]> {
  const { rows } = await q.query(
    `SELECT u.id, u.seq, coalesce((SELECT array_agg(j.id) FROM mapping_jobs j WHERE j.upload_id = u.id), '{}') AS job_ids
     FROM inventory_uploads u
     WHERE u.created_at < $1 AND u.staged_until IS NULL
       AND NOT EXISTS (SELECT 1 FROM mapping_jobs j WHERE j.upload_id = u.id
         AND (j.created_at >= $1 OR j.status IN ('queued', 'running') OR EXISTS (SELECT 1 FROM push_deliveries d WHERE d.job_id = j.id)))
     ORDER BY u.created_at LIMIT $2`, [cutoff, limit])
  return rows.map(r => ({ id: r.id as string, seq: Number(r.seq), jobIds: r.job_ids as string[] }))
}

/*
 * Items and job results are deleted by row-number ranges (lo, lo + limit] up to the highest row:
 * a closed range reads only its own rows whatever plan the database picks (src/db/sql/results.ts,
 * readResults), and an index is not walked again over rows already deleted. A range holds at most
 * `limit` rows (row numbers are unique per upload or job).
 */
export async function lastJobResultRow (q: Queryable, jobId: string): Promise<number> {
  const { rows } = await q.query<{ n: number | null }>('SELECT max(row_number) AS n FROM job_results WHERE job_id = $1', [jobId])
  return rows[0]?.n ?? 0
}

export async function purgeJobResults (q: Queryable, jobId: string, after: number, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    'DELETE FROM job_results WHERE job_id = $1 AND row_number > $2 AND row_number <= $2 + $3', [jobId, after, limit])
  return rowCount
}

/** A job whose results are gone; refused (false) if a push delivery refers to it since it was chosen. */
export async function deleteJob (q: Queryable, jobId: string): Promise<boolean> {
  const { rowCount } = await q.query(
    'DELETE FROM mapping_jobs j WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM push_deliveries d WHERE d.job_id = j.id)', [jobId])
  return rowCount > 0
}

export async function lastItemRow (q: Queryable, uploadSeq: number): Promise<number> {
  const { rows } = await q.query<{ n: number | null }>('SELECT max(row_number) AS n FROM inventory_items WHERE upload_seq = $1', [uploadSeq])
  return rows[0]?.n ?? 0
}

export async function purgeItems (q: Queryable, uploadSeq: number, after: number, limit: number): Promise<number> {
  const { rowCount } = await q.query(
    'DELETE FROM inventory_items WHERE upload_seq = $1 AND row_number > $2 AND row_number <= $2 + $3', [uploadSeq, after, limit])
  return rowCount
}

/**
 * The upload row, once its items and jobs are gone. Cascades: its rejected rows (at most 100 are
 * kept per upload). Refused (false) if a mapping job of it was created meanwhile.
 */
export async function deleteUpload (q: Queryable, uploadId: string): Promise<boolean> {
  const { rowCount } = await q.query(
    'DELETE FROM inventory_uploads u WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM mapping_jobs j WHERE j.upload_id = u.id)', [uploadId])
  return rowCount > 0
}
