import type { Queryable } from '../client.js'
import { iso, isoRequired, json } from './rows.js'

import type { ShownSyncStatus, SyncStatus, SyncTrigger } from '../../domain/sync.js'

export { SHOWN_SYNC_STATUSES, SYNC_TRIGGERS, type ShownSyncStatus, type SyncStatus, type SyncTrigger } from '../../domain/sync.js'

export interface ManifestEntry {
  key: string
  etag: string | null
  size: number | null
  lastModified: string | null
  format: string | null
  status: 'ingested' | 'rejected' | 'skipped' | 'failed' | 'delivered'
  rowsAccepted: number
  rowsRejected: number
  uploadId?: string | null
  reason?: string
  errors?: Array<{ row?: number, message: string }>
  attempts?: Array<Record<string, unknown>>
  [extra: string]: unknown
}

export interface Sync {
  id: string
  orgId: string
  sourceId: string
  direction: 'inbound' | 'outbound'
  trigger: SyncTrigger
  status: ShownSyncStatus
  startedAt: string
  finishedAt: string | null
  durationMs: number | null
  filesCount: number
  bytes: number
  rowsAccepted: number
  rowsRejected: number
  error: { code: string, message: string, [k: string]: unknown } | null
  progress: Record<string, unknown> | null
  manifest: ManifestEntry[]
  jobId: string | null
  /** pushes only: attempts started so far, and when the next one is due (while pending or retrying) */
  attempt?: number
  nextAttemptAt?: string | null
}

/** The entries of sync `s` so far, in the order they were appended, as one jsonb array. */
const ENTRIES = `(SELECT coalesce(jsonb_agg(m.entry ORDER BY m.n), '[]'::jsonb) FROM sync_manifest_entries m WHERE m.sync_id = s.id)`

/**
 * A sync row (aliased `s`) with its manifest: manifest_json once the sync has closed, its entries
 * while it runs.
 */
const WITH_MANIFEST = `s.*, coalesce(s.manifest_json, ${ENTRIES}) AS manifest`

/**
 * Closing a sync (the UPDATE of the CTE `closed`): its entries are folded into manifest_json in one
 * write and removed; both statements see the entries as they were before either ran.
 */
const FOLD_ENTRIES = `manifest_json = ${ENTRIES}`
const REMOVE_FOLDED = 'folded AS (DELETE FROM sync_manifest_entries WHERE sync_id IN (SELECT id FROM closed))'

/**
 * Sets a sync's counters (alias `s`) to the sums of its manifest entries' shares. The file
 * transactions of a pull append entries without touching the sync row (one row lock would make
 * them commit one after the other); the counters are recomputed from what has committed instead,
 * so they can lag a running pull by the progress interval but never disagree with the manifest
 * once the sync is closed, whatever happened to the worker.
 */
const COUNTS_FROM_MANIFEST = `(files_count, bytes, rows_accepted, rows_rejected) = (
  SELECT coalesce(sum(m.files), 0), coalesce(sum(m.bytes), 0), coalesce(sum(m.rows_accepted), 0), coalesce(sum(m.rows_rejected), 0)
  FROM sync_manifest_entries m WHERE m.sync_id = s.id)`

const toSync = (r: Record<string, unknown>): Sync => {
  const startedAt = isoRequired(r.started_at)
  const finishedAt = iso(r.finished_at)
  return {
    id: r.id as string,
    orgId: r.org_id as string,
    sourceId: r.source_id as string,
    direction: r.direction as Sync['direction'],
    trigger: r.trigger as SyncTrigger,
    status: r.status as SyncStatus,
    startedAt,
    finishedAt,
    durationMs: finishedAt ? Date.parse(finishedAt) - Date.parse(startedAt) : null,
    filesCount: r.files_count as number,
    bytes: r.bytes as number,
    rowsAccepted: r.rows_accepted as number,
    rowsRejected: r.rows_rejected as number,
    error: (r.error as Sync['error']) ?? null,
    progress: (r.progress as Sync['progress']) ?? null,
    manifest: (r.manifest as ManifestEntry[] | undefined) ?? [],
    jobId: (r.job_id as string | null) ?? null,
    ...(r.direction === 'outbound' && r.attempt != null ? { attempt: r.attempt as number, nextAttemptAt: iso(r.next_attempt_at) } : {}),
  }
}

/** A sync (alias `s`) with its delivery (alias `d`, pushes only) as the API shows it. */
export const SHOWN_STATUS = `CASE WHEN s.status = 'running' AND d.state = 'retrying' THEN 'retrying' ELSE s.status END`
const SHOWN = `s.id, s.org_id, s.source_id, s.direction, s.trigger, ${SHOWN_STATUS} AS status, s.started_at, s.finished_at, s.files_count, s.bytes,
  s.rows_accepted, s.rows_rejected, s.error, s.progress, s.job_id, d.attempt, d.next_attempt_at`

export async function insertSync (
  q: Queryable,
  s: {
    id: string, orgId: string, sourceId: string, direction: Sync['direction'], trigger: SyncTrigger, jobId?: string | null
    /** when the work began, if before this row is written (an inbound delivery's sync is written when its file is published) */
    startedAt?: Date
  },
): Promise<Sync> {
  const { rows } = await q.query(
    `INSERT INTO syncs (id, org_id, source_id, direction, trigger, status, job_id, started_at)
     VALUES ($1, $2, $3, $4, $5, 'running', $6, coalesce($7, now())) RETURNING *`,
    [s.id, s.orgId, s.sourceId, s.direction, s.trigger, s.jobId ?? null, s.startedAt ?? null])
  return toSync(rows[0])
}

export async function getSync (q: Queryable, orgId: string, sourceId: string, id: string): Promise<Sync | null> {
  const { rows } = await q.query(
    `SELECT ${SHOWN}, coalesce(s.manifest_json, ${ENTRIES}) AS manifest FROM syncs s LEFT JOIN push_deliveries d ON d.sync_id = s.id
     WHERE s.org_id = $1 AND s.source_id = $2 AND s.id = $3`, [orgId, sourceId, id])
  return rows[0] ? toSync(rows[0]) : null
}

export async function getSyncById (q: Queryable, id: string): Promise<Sync | null> {
  const { rows } = await q.query(`SELECT ${WITH_MANIFEST} FROM syncs s WHERE s.id = $1`, [id])
  return rows[0] ? toSync(rows[0]) : null
}

/** Several by id, with their manifests (a batch of pushes); missing ids are left out. */
export async function getSyncsByIds (q: Queryable, ids: string[]): Promise<Map<string, Sync>> {
  const { rows } = await q.query(`SELECT ${WITH_MANIFEST} FROM syncs s WHERE s.id = ANY($1::uuid[])`, [[...new Set(ids)]])
  return new Map(rows.map(r => [r.id as string, toSync(r)]))
}

export interface SyncFilter {
  limit: number
  /** keyset cursor: syncs older than this id (ids are UUIDv7, time-ordered) */
  before?: string
  status?: ShownSyncStatus
  trigger?: SyncTrigger
}

/**
 * A page of a source's syncs, newest first, without manifests (they can be large); null when the
 * organisation has no such source under that agent. One round trip for the check and the list: the
 * history is the API's most polled route (the UI and `ferry pull --wait` watch it). A status filter
 * is on the status as shown (`retrying` is a running push waiting for its next attempt).
 */
export async function listSyncsOfSource (q: Queryable, orgId: string, agentId: string, sourceId: string, f: SyncFilter): Promise<Sync[] | null> {
  const { rows } = await q.query(
    `SELECT s.* FROM data_sources ds
     LEFT JOIN LATERAL (
       SELECT ${SHOWN} FROM syncs s LEFT JOIN push_deliveries d ON d.sync_id = s.id
       WHERE s.org_id = ds.org_id AND s.source_id = ds.id
         AND ($5::uuid IS NULL OR s.id < $5::uuid)
         -- the stored status first (indexed), then the shown one
         AND ($6::text IS NULL OR (s.status = (CASE WHEN $6::text = 'retrying' THEN 'running' ELSE $6::text END) AND ${SHOWN_STATUS} = $6::text))
         AND ($7::text IS NULL OR s.trigger = $7::text)
       ORDER BY s.id DESC LIMIT $4) s ON true
     WHERE ds.org_id = $1 AND ds.agent_id = $2 AND ds.id = $3`,
    [orgId, agentId, sourceId, f.limit, f.before ?? null, f.status ?? null, f.trigger ?? null],
    // the unfiltered first page (what the UI and `ferry pull --wait` poll) reuses one plan; a cursor or a
    // filter is planned for its values, so it can use the status, trigger and keyset index conditions
    { prepare: f.before === undefined && f.status === undefined && f.trigger === undefined ? 'ferry_syncs_first_page' : undefined })
  if (rows.length === 0) return null
  return rows.filter(r => r.id !== null).map(toSync)
}

export async function lastSyncsOf (q: Queryable, sourceIds: string[]): Promise<Map<string, Pick<Sync, 'id' | 'status' | 'startedAt' | 'finishedAt'>>> {
  if (sourceIds.length === 0) return new Map()
  const { rows } = await q.query(
    `SELECT DISTINCT ON (s.source_id) s.source_id, s.id, ${SHOWN_STATUS} AS status, s.started_at, s.finished_at
     FROM syncs s LEFT JOIN push_deliveries d ON d.sync_id = s.id
     WHERE s.source_id = ANY($1::uuid[]) ORDER BY s.source_id, s.id DESC`, [sourceIds])
  return new Map(rows.map(r => [r.source_id as string, {
    id: r.id as string, status: r.status as ShownSyncStatus, startedAt: isoRequired(r.started_at), finishedAt: iso(r.finished_at),
  }]))
}

export async function runningSyncOf (q: Queryable, sourceId: string): Promise<Sync | null> {
  const { rows } = await q.query(`SELECT ${WITH_MANIFEST} FROM syncs s WHERE s.source_id = $1 AND s.status = 'running' ORDER BY s.id DESC LIMIT 1`, [sourceId])
  return rows[0] ? toSync(rows[0]) : null
}

/**
 * Serialises "Pull now" requests for one source until the caller's transaction ends (an advisory
 * lock, not a row lock: the pull's fencing share-locks the source row and must not wait for it).
 */
export async function lockPullRequests (tx: Queryable, sourceId: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('ferry.pull-now.' || $1::text, 0))`, [sourceId])
}

export async function setSyncJob (q: Queryable, id: string, jobId: string): Promise<void> {
  await q.query('UPDATE syncs SET job_id = $2 WHERE id = $1', [id, jobId])
}

/** A running sync's progress, and its counters as of the files committed so far. */
export async function setSyncProgress (q: Queryable, id: string, progress: Record<string, unknown>): Promise<void> {
  await q.query(`UPDATE syncs s SET progress = $2::jsonb, ${COUNTS_FROM_MANIFEST} WHERE s.id = $1 AND s.status = 'running'`, [id, json(progress)])
}

/**
 * Appends one file's outcome (in the file's own transaction) with its share of the counters: every
 * file that was not skipped counts. An insert, not an update of the sync row: concurrent files of
 * one pull do not wait for each other here. Only into a running sync: false (nothing appended) once
 * it was closed — cancelled by an operator — and the caller rolls its file back. The key-share lock
 * on the sync row lasts until the caller commits, so cancelling ({@link lockSyncForClose}) waits for
 * files being committed and then folds them into the manifest; it never conflicts with the progress
 * writes (a plain UPDATE), nor with the other files of the pull.
 */
export async function appendManifest (q: Queryable, id: string, entry: ManifestEntry): Promise<boolean> {
  const counted = entry.status !== 'skipped'
  const { rowCount } = await q.query(
    `INSERT INTO sync_manifest_entries (sync_id, entry, files, bytes, rows_accepted, rows_rejected)
     SELECT $1, $2::jsonb, $3, $4, $5, $6 FROM (SELECT status FROM syncs WHERE id = $1 FOR KEY SHARE) s WHERE s.status = 'running'`,
    [id, json(entry), counted ? 1 : 0, counted ? entry.size ?? 0 : 0, entry.rowsAccepted, entry.rowsRejected])
  return rowCount > 0
}

/**
 * Before a sync is closed from outside its worker (cancel): locks its row, waiting for the files
 * being committed into it (they hold a key-share lock, see {@link appendManifest}); a later statement
 * of the transaction then sees their entries. Null when there is no such sync.
 */
export async function lockSyncForClose (q: Queryable, id: string): Promise<{ status: SyncStatus, direction: Sync['direction'] } | null> {
  const { rows } = await q.query('SELECT status, direction FROM syncs WHERE id = $1 FOR UPDATE', [id])
  return rows[0] ? { status: rows[0].status as SyncStatus, direction: rows[0].direction as Sync['direction'] } : null
}

/** Whether the sync is still running (a pull watches for its cancellation with this). */
export async function syncStillRunning (q: Queryable, id: string): Promise<boolean> {
  const { rows } = await q.query(`SELECT 1 FROM syncs WHERE id = $1 AND status = 'running'`, [id])
  return rows.length > 0
}

/**
 * Replaces the sync's manifest with one entry and sets the counters to its share (an outbound push:
 * one entry, rewritten after every attempt).
 */
export async function replaceManifest (
  q: Queryable,
  id: string,
  entry: ManifestEntry,
  share: { files: number, bytes: number, rowsAccepted: number, rowsRejected: number },
): Promise<void> {
  await q.query(
    `WITH cleared AS (DELETE FROM sync_manifest_entries WHERE sync_id = $1),
     added AS (INSERT INTO sync_manifest_entries (sync_id, entry, files, bytes, rows_accepted, rows_rejected) VALUES ($1, $2::jsonb, $3, $4, $5, $6))
     UPDATE syncs SET files_count = $3, bytes = $4, rows_accepted = $5, rows_rejected = $6 WHERE id = $1`,
    [id, json(entry), share.files, share.bytes, share.rowsAccepted, share.rowsRejected])
}

/** Whether any file of the sync landed (ingested, or refused whole and recorded). */
export async function anyFileLanded (q: Queryable, id: string): Promise<boolean> {
  const { rows } = await q.query(
    `SELECT EXISTS (SELECT 1 FROM sync_manifest_entries WHERE sync_id = $1 AND entry->>'status' IN ('ingested', 'rejected')) AS landed`, [id])
  return rows[0]?.landed === true
}

export async function finishSync (q: Queryable, id: string, outcome: { status: Exclude<SyncStatus, 'running'>, error?: Sync['error'] }): Promise<Sync | null> {
  const { rows } = await q.query(
    `WITH closed AS (
       UPDATE syncs s SET status = $2, error = $3::jsonb, finished_at = now(), progress = NULL, ${COUNTS_FROM_MANIFEST}, ${FOLD_ENTRIES}
       WHERE s.id = $1 AND s.status = 'running' RETURNING s.*),
     ${REMOVE_FOLDED}
     SELECT *, manifest_json AS manifest FROM closed`,
    [id, outcome.status, outcome.error ? json(outcome.error) : null])
  return rows[0] ? toSync(rows[0]) : null
}

/**
 * The SET list that closes a running sync (alias `s`) as failed with the error in parameter `$err`:
 * counters from its entries, entries folded into the manifest (with {@link REMOVE_FOLDED}).
 */
const closeFailed = (err: string) => `status = 'failed', finished_at = now(), progress = NULL, ${COUNTS_FROM_MANIFEST}, ${FOLD_ENTRIES}, error = ${err}::jsonb`

/** Syncs left `running` by a worker that died (its lease expired): closed as failed. */
export async function failOrphanedSyncs (q: Queryable, sourceId: string, except: string): Promise<number> {
  const { rows } = await q.query(
    `WITH closed AS (
       UPDATE syncs s SET ${closeFailed('\'{"code":"LEASE_LOST","message":"The worker running this sync stopped; the next pull takes over."}\'')}
       WHERE s.source_id = $1 AND s.status = 'running' AND s.id <> $2 AND s.direction = 'inbound' AND s.trigger <> 'webhook'
       RETURNING s.id),
     ${REMOVE_FOLDED}
     SELECT count(*)::int AS n FROM closed`, [sourceId, except])
  return rows[0].n as number
}

export interface LostSyncCandidate { id: string, sourceId: string, trigger: SyncTrigger, jobId: string | null }

/**
 * Pulls that look lost: running inbound syncs (webhook deliveries commit with their sync, so they
 * are never left running) older than `leaseSeconds` whose source's lease is free or expired. A live
 * pull renews its lease every third of that time, and a sync is created under a held lease, except
 * an on-demand pull's, which exists while its job waits in the queue — the caller checks the job.
 */
export async function lostSyncCandidates (q: Queryable, leaseSeconds: number, limit: number): Promise<LostSyncCandidate[]> {
  const { rows } = await q.query(
    `SELECT s.id, s.source_id, s.trigger, s.job_id FROM syncs s JOIN data_sources ds ON ds.id = s.source_id
     WHERE s.status = 'running' AND s.direction = 'inbound' AND s.trigger <> 'webhook'
       AND s.started_at < now() - make_interval(secs => $1)
       AND (ds.lease_token IS NULL OR ds.lease_expires_at < now())
     ORDER BY s.id LIMIT $2`, [leaseSeconds, limit])
  return rows.map(r => ({ id: r.id as string, sourceId: r.source_id as string, trigger: r.trigger as SyncTrigger, jobId: (r.job_id as string | null) ?? null }))
}

/**
 * Closes these running syncs as failed with `error`, in the transaction that took their sources'
 * dead leases ({@link takeDeadLeases}); returns the syncs it closed.
 */
export async function failLostSyncs (q: Queryable, ids: string[], error: NonNullable<Sync['error']>): Promise<Sync[]> {
  if (ids.length === 0) return []
  const { rows } = await q.query(
    `WITH closed AS (
       UPDATE syncs s SET ${closeFailed('$2')} WHERE s.id = ANY($1::uuid[]) AND s.status = 'running' RETURNING s.*),
     ${REMOVE_FOLDED}
     SELECT *, manifest_json AS manifest FROM closed`, [ids, json(error)])
  return rows.map(toSync)
}
