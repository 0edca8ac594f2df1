import type { Queryable } from '../client.js'
import type { OutputColumn } from '../../domain/agent.js'
import { toStoredItem, type StoredItem } from './inventory.js'
import { iso, isoRequired, json } from './rows.js'

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed'
export type JobTrigger = 'manual' | 'auto_map'

export interface MappingJob {
  id: string
  orgId: string
  agentId: string
  uploadId: string
  status: JobStatus
  trigger: JobTrigger
  output: OutputColumn[]
  rows: number
  attempts: number
  error: { code: string, message: string } | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

const toJob = (r: Record<string, unknown>): MappingJob => ({
  id: r.id as string,
  orgId: r.org_id as string,
  agentId: r.agent_id as string,
  uploadId: r.upload_id as string,
  status: r.status as JobStatus,
  trigger: r.trigger as JobTrigger,
  output: r.output as OutputColumn[],
  rows: r.rows as number,
  attempts: r.attempts as number,
  error: (r.error as MappingJob['error']) ?? null,
  createdAt: isoRequired(r.created_at),
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
})

export async function insertJob (
  q: Queryable, j: { id: string, orgId: string, agentId: string, uploadId: string, trigger: JobTrigger, output: OutputColumn[] },
): Promise<MappingJob> {
  const { rows } = await q.query(
    `INSERT INTO mapping_jobs (id, org_id, agent_id, upload_id, status, trigger, output) VALUES ($1, $2, $3, $4, 'queued', $5, $6::jsonb) RETURNING *`,
    [j.id, j.orgId, j.agentId, j.uploadId, j.trigger, json(j.output)])
  return toJob(rows[0])
}

export async function getJob (q: Queryable, orgId: string, agentId: string, id: string): Promise<MappingJob | null> {
  const { rows } = await q.query('SELECT * FROM mapping_jobs WHERE org_id = $1 AND agent_id = $2 AND id = $3', [orgId, agentId, id])
  return rows[0] ? toJob(rows[0]) : null
}

/** By id alone, several at once: for the push queue's handler, whose payloads are only ids. Missing ids are left out. */
export async function getJobsByIds (q: Queryable, ids: string[]): Promise<Map<string, MappingJob>> {
  const { rows } = await q.query('SELECT * FROM mapping_jobs WHERE id = ANY($1::uuid[])', [[...new Set(ids)]])
  return new Map(rows.map(r => [r.id as string, toJob(r)]))
}

/** Newest first (keyset on the time-ordered id). */
export async function listJobs (
  q: Queryable, orgId: string, agentId: string, page: { limit: number, before?: string, uploadId?: string, status?: JobStatus },
): Promise<MappingJob[]> {
  const { rows } = await q.query(
    `SELECT * FROM mapping_jobs WHERE org_id = $1 AND agent_id = $2 AND ($3::uuid IS NULL OR id < $3::uuid)
       AND ($4::uuid IS NULL OR upload_id = $4::uuid) AND ($5::text IS NULL OR status = $5::text)
     ORDER BY id DESC LIMIT $6`, [orgId, agentId, page.before ?? null, page.uploadId ?? null, page.status ?? null, page.limit])
  return rows.map(toJob)
}

/** queued/running → running; counts the attempt. Null when the job is already finished. */
export async function markJobRunning (q: Queryable, id: string): Promise<MappingJob | null> {
  const { rows } = await q.query(
    `UPDATE mapping_jobs SET status = 'running', started_at = coalesce(started_at, now()), attempts = attempts + 1
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING *`, [id])
  return rows[0] ? toJob(rows[0]) : null
}

export async function finishJob (
  q: Queryable, id: string, outcome: { status: 'succeeded' | 'failed', rows?: number, error?: MappingJob['error'] },
): Promise<MappingJob | null> {
  const { rows } = await q.query(
    `UPDATE mapping_jobs SET status = $2, rows = $3, error = $4::jsonb, finished_at = now()
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING *`,
    [id, outcome.status, outcome.rows ?? 0, outcome.error ? json(outcome.error) : null])
  return rows[0] ? toJob(rows[0]) : null
}

/**
 * A run of a job holds it while it is still `running` with the attempt it started as: it locks the
 * row until its transaction commits. A newer copy of the job (a redelivered pg-boss job next to a
 * stalled one) counted another attempt when it started, so the older copy's next hold fails and it
 * stops; a hold in progress makes that newer start wait until it commits.
 */
export async function holdJob (tx: Queryable, id: string, attempt: number): Promise<boolean> {
  const { rows } = await tx.query("SELECT 1 FROM mapping_jobs WHERE id = $1 AND status = 'running' AND attempts = $2 FOR UPDATE", [id, attempt])
  return rows.length > 0
}

/**
 * The upload's items with row numbers in (after, after + count], in order. A closed range reads only
 * its own rows whatever plan the database picks (an open `row_number > $n … LIMIT` over a freshly
 * loaded upload makes PostgreSQL sort everything after $n on every page); row numbers are the file's
 * and may have gaps, so a range can hold fewer rows, or none.
 */
export async function readItemRange (q: Queryable, uploadSeq: number, after: number, count: number): Promise<StoredItem[]> {
  const { rows } = await q.query(
    `SELECT row_number, sku, name, quantity, price, currency, location, attributes FROM inventory_items
     WHERE upload_seq = $1 AND row_number > $2 AND row_number <= $2 + $3 ORDER BY row_number`, [uploadSeq, after, count])
  return rows.map(toStoredItem)
}

/** What a person knows a job by: its upload's file and the source it came from (null for a manual upload or a deleted source). */
export interface JobOrigin { fileName: string, sourceId: string | null, sourceName: string | null }

export async function jobOrigins (q: Queryable, orgId: string, uploadIds: string[]): Promise<Map<string, JobOrigin>> {
  if (uploadIds.length === 0) return new Map()
  const { rows } = await q.query<{ id: string, file_name: string, source_id: string | null, source_name: string | null }>(
    `SELECT u.id, u.file_name, u.source_id, s.name AS source_name
     FROM inventory_uploads u LEFT JOIN data_sources s ON s.id = u.source_id
     WHERE u.org_id = $1 AND u.id = ANY($2::uuid[])`, [orgId, [...new Set(uploadIds)]])
  return new Map(rows.map(r => [r.id, { fileName: r.file_name, sourceId: r.source_id, sourceName: r.source_name }]))
}
