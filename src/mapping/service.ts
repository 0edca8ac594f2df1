import type { Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { PgBoss } from 'pg-boss'
import type { Deps } from '../deps.js'
import { requireAgent } from '../agents/service.js'
import type { Transaction } from '../db/client.js'
import { getAgent, type Agent } from '../db/sql/agents.js'
import { getUpload, type InventoryUpload } from '../db/sql/inventory.js'
import {
  finishJob, getJob, holdJob, insertJob, jobOrigins, listJobs, markJobRunning, readItemRange,
  type JobOrigin, type JobStatus, type JobTrigger, type MappingJob,
} from '../db/sql/jobs.js'
import { deleteResults, insertResults } from '../db/sql/results.js'
import { lastItemRow } from '../db/sql/retention.js'
import { listSourcesOfAgent } from '../db/sql/sources.js'
import { AppError, isAppError } from '../errors.js'
import type { IngestInput } from '../pipeline/ingest.js'
import { autoPushSinks, createPush } from '../push/service.js'
import { newId } from '../util/ids.js'
import type { ResultFormat } from '../results/format.js'
import { streamJobResults } from '../results/rows.js'
import { compileProjection, outputOf } from './projection.js'
import { enqueueMap } from './queue.js'
import { recordAudit, type Actor } from '../audit/audit.js'

/** Items read (and result rows written) per batch: memory holds one batch. */
const BATCH = 1000

/**
 * Creates a queued mapping job and its pg-boss job in the caller's transaction. The job keeps the
 * projection it was created with (the agent's mapping.output, or the canonical fields).
 */
export async function createJob (
  boss: PgBoss, tx: Transaction, j: { orgId: string, agent: Pick<Agent, 'id' | 'mapping'>, upload: Pick<InventoryUpload, 'id'>, trigger: JobTrigger },
): Promise<MappingJob> {
  const job = await insertJob(tx, {
    id: newId(), orgId: j.orgId, agentId: j.agent.id, uploadId: j.upload.id, trigger: j.trigger, output: outputOf(j.agent.mapping),
  })
  await enqueueMap(boss, { jobId: job.id }, { db: tx.bossAdapter() })
  return job
}

/** POST /agents/{id}/jobs { uploadId }: a job for one of the agent's uploads. */
export async function requestJob (deps: Deps, orgId: string, agentId: string, uploadId: string, actor?: Actor): Promise<MappingJob> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  const upload = await getUpload(deps.db, orgId, agentId, uploadId)
  if (!upload) throw new AppError('NOT_FOUND', 'Upload not found.', { details: { field: 'uploadId' } })
  if (upload.status !== 'ingested') {
    throw new AppError('CONFLICT', 'The upload was rejected as a whole; it has no items to map.', {
      details: { field: 'uploadId', uploadStatus: upload.status },
    })
  }
  // a mapping that cannot run is refused now, not discovered by the worker
  compileProjection(outputOf(agent.mapping))
  return deps.db.transaction(async (tx) => {
    const job = await createJob(deps.boss, tx, { orgId, agent, upload, trigger: 'manual' })
    if (actor) await recordAudit(tx, actor, { action: 'create', resourceType: 'job', resourceId: job.id })
    return job
  })
}

export type { JobOrigin, MappingJob }

/** A mapping job of the organisation's agent, or NOT_FOUND. */
export async function requireJob (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, jobId: string): Promise<MappingJob> {
  const job = await getJob(deps.db, orgId, agentId, jobId)
  if (!job) throw new AppError('NOT_FOUND', 'Job not found.')
  return job
}

/** An agent's jobs, newest first, each with the upload (and source) it maps. */
export async function listJobsOf (
  deps: Pick<Deps, 'db'>, orgId: string, agentId: string, filter: { limit: number, before?: string, uploadId?: string, status?: JobStatus },
): Promise<Array<MappingJob & { origin?: JobOrigin }>> {
  await requireAgent(deps.db, orgId, agentId)
  const jobs = await listJobs(deps.db, orgId, agentId, filter)
  const origins = await jobOrigins(deps.db, orgId, jobs.map(j => j.uploadId))
  return jobs.map(job => ({ ...job, origin: origins.get(job.uploadId) }))
}

/** One job with the upload (and source) it maps. */
export async function getJobOf (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, jobId: string): Promise<MappingJob & { origin?: JobOrigin }> {
  const job = await requireJob(deps, orgId, agentId, jobId)
  return { ...job, origin: (await jobOrigins(deps.db, orgId, [job.uploadId])).get(job.uploadId) }
}

/** A succeeded job's results as a file stream; any other job → CONFLICT. */
export async function jobResults (
  deps: Pick<Deps, 'db'>, orgId: string, agentId: string, jobId: string, format: ResultFormat,
): Promise<{ job: MappingJob, stream: Readable }> {
  const job = await requireJob(deps, orgId, agentId, jobId)
  if (job.status !== 'succeeded') {
    throw new AppError('CONFLICT', `The job has no results yet (it is ${job.status}).`, { details: { jobStatus: job.status } })
  }
  return { job, stream: streamJobResults(deps.db, job, format) }
}

/**
 * The pipeline's afterIngest hook for `rules.autoMap`: in the upload's own transaction, so the job
 * exists exactly when the upload does. Uploads refused as a whole start nothing.
 */
export function autoMapHook (boss: PgBoss) {
  return async (tx: Transaction, upload: InventoryUpload, input: IngestInput): Promise<void> => {
    if (upload.status !== 'ingested') return
    const agent = await getAgent(tx, input.orgId, input.agent.id)
    if (!agent?.rules.autoMap) return
    await createJob(boss, tx, { orgId: input.orgId, agent, upload, trigger: 'auto_map' })
  }
}

/**
 * Runs a mapping job (the map-upload handler): projects the upload's items into job_results, a chunk
 * of BATCH item rows per short transaction, then marks the job succeeded and queues its auto-pushes
 * in one final transaction. Nobody reads the results of a job that has not succeeded (the results
 * route and pushes need `succeeded`), so results, status and pushes still appear together; and the
 * embedded database's one connection is never held for a whole upload (a long job would stall the
 * API of every tenant, as one long ingest transaction did: docs/decisions.md "Short transactions").
 * Every transaction first holds the job as this run's attempt (holdJob): a newer copy of the job makes
 * this one stop (null) before it writes another row, and the newer copy starts by deleting what was
 * written before it. Returns the job as it ended (null when it was already finished, is gone, or was
 * taken over).
 */
export async function runMappingJob (deps: Deps, jobId: string, options: { lastAttempt: boolean } = { lastAttempt: true }): Promise<MappingJob | null> {
  const { db, logger } = deps
  const started = await markJobRunning(db, jobId)
  if (!started) return null
  // fn in a transaction that holds the job as this run's attempt; null when a newer copy took it over
  const held = <T>(fn: (tx: Transaction) => Promise<T>) =>
    db.transaction(async (tx) => await holdJob(tx, jobId, started.attempts) ? { value: await fn(tx) } : null)
  try {
    const projection = compileProjection(started.output)
    const upload = await getUpload(db, started.orgId, started.agentId, started.uploadId)
    if (!upload) throw new AppError('NOT_FOUND', 'The upload of this job no longer exists.')
    // an earlier attempt's rows
    if (!await held(tx => deleteResults(tx, jobId))) return null
    let n = 0
    const last = await lastItemRow(db, upload.seq)
    for (let after = 0; after < last; after += BATCH) {
      // PGlite runs in this thread and answers without I/O: without a turn of the event loop between
      // chunks, no request (nor any other work) would get in until the whole job is done
      await nextTurn()
      const items = await readItemRange(db, upload.seq, after, BATCH)
      if (items.length === 0) continue
      const rows = items.map(item => ({ n: ++n, data: projection.project(item) }))
      if (!await held(tx => insertResults(tx, jobId, rows))) return null
    }
    const outcome = await held(async (tx) => {
      const finished = await finishJob(tx, jobId, { status: 'succeeded', rows: n })
      if (!finished) return null
      for (const sink of autoPushSinks(await listSourcesOfAgent(tx, finished.agentId))) {
        await createPush(deps, tx, { sink, job: finished, trigger: 'job_complete' })
      }
      return finished
    })
    const job = outcome?.value ?? null
    if (job) logger.info({ jobId, rows: job.rows }, 'mapping job succeeded')
    return job
  } catch (err) {
    const permanent = isAppError(err) && err.failureType === 'config'
    if (!permanent && !options.lastAttempt) throw err // pg-boss runs it again
    const e = isAppError(err) ? err : null
    if (!e || e.failureType === 'system') logger.error({ err, jobId }, 'mapping job failed')
    else logger.info({ jobId, code: e.code }, 'mapping job failed')
    return finishJob(db, jobId, {
      status: 'failed',
      error: e && e.failureType !== 'system'
        ? { code: e.code, message: e.message }
        : { code: 'INTERNAL', message: 'The mapping job failed because of an internal error.' },
    })
  }
}
