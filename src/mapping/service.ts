import type { Readable } from 'node:stream'
import type { PgBoss } from 'pg-boss'
import type { Deps } from '../deps.js'
import { requireAgent } from '../agents/service.js'
import type { Transaction } from '../db/client.js'
import { getAgent, type Agent } from '../db/sql/agents.js'
import { getUpload, type InventoryUpload } from '../db/sql/inventory.js'
import {
  closeItemCursor, fetchItems, finishJob, getJob, insertJob, jobOrigins, listJobs, lockJob, markJobRunning, openItemCursor,
  type JobOrigin, type JobStatus, type JobTrigger, type MappingJob,
} from '../db/sql/jobs.js'
import { deleteResults, insertResults } from '../db/sql/results.js'
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
 * Runs a mapping job (the map-upload handler): projects the upload's items into job_results in one
 * transaction that also marks the job succeeded and queues the auto-pushes, so results, status and
 * pushes appear together or not at all. The job row is locked for the transaction: two copies of one
 * job (a redelivered pg-boss job next to a slow one) run one after the other, and the second finds the
 * job finished. Returns the job as it ended (null when it was already finished or is gone).
 */
export async function runMappingJob (deps: Deps, jobId: string, options: { lastAttempt: boolean } = { lastAttempt: true }): Promise<MappingJob | null> {
  const { db, logger } = deps
  if (!await markJobRunning(db, jobId)) return null
  try {
    const job = await db.transaction(async (tx) => {
      const current = await lockJob(tx, jobId)
      if (!current || (current.status !== 'running' && current.status !== 'queued')) return null
      const projection = compileProjection(current.output)
      const upload = await getUpload(tx, current.orgId, current.agentId, current.uploadId)
      if (!upload) throw new AppError('NOT_FOUND', 'The upload of this job no longer exists.')
      await deleteResults(tx, jobId)
      let n = 0
      await openItemCursor(tx, upload.seq)
      for (;;) {
        const items = await fetchItems(tx, BATCH)
        await insertResults(tx, jobId, items.map(item => ({ n: ++n, data: projection.project(item) })))
        if (items.length < BATCH) break
      }
      await closeItemCursor(tx)
      const finished = await finishJob(tx, jobId, { status: 'succeeded', rows: n })
      if (!finished) return null
      for (const sink of autoPushSinks(await listSourcesOfAgent(tx, finished.agentId))) {
        await createPush(deps, tx, { sink, job: finished, trigger: 'job_complete' })
      }
      return finished
    })
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
