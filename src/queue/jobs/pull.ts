import type { ConnectionOptions, PgBoss, SendOptions, JobWithMetadata } from 'pg-boss'
import type { Deps } from '../../deps.js'
import type { Sync, SyncTrigger } from '../../db/sql/syncs.js'
import { afterPull, afterPullError } from '../../pending-items/pull-failures.js'
import { AppError, isAppError } from '../../errors.js'
import { PullFairShare } from '../../scheduler/fairness.js'
import { pullSource } from '../../sync/pull.js'
import type { JobDefinition } from './index.js'
import type { BossDb } from '../../push/queue.js'

export const PULL_QUEUE = 'pull-source'

/** The job payload: ids only, never a secret. */
export interface PullJobData {
  sourceId: string
  trigger: SyncTrigger
  syncId?: string
  /** set on a scheduled pull re-enqueued by the fair share (src/scheduler/fairness.ts): how often it waited */
  deferrals?: number
}

/** Enqueues a pull; one queued pull per source at most (a second one would do the same work). */
export async function enqueuePull (boss: PgBoss, data: PullJobData, options: { db?: BossDb } = {}): Promise<string | null> {
  return boss.send(PULL_QUEUE, data, { singletonKey: data.sourceId, ...(options.db ? { db: options.db } : {}) } as SendOptions)
}

/** Whether this pull job is waiting in the queue (not yet fetched, or waiting for its retry). */
export async function pullJobWaiting (boss: PgBoss, jobId: string): Promise<boolean> {
  const job = await findPullJob(boss, jobId)
  return job !== null && (job.state === 'created' || job.state === 'retry')
}

/** A pull job by id in any state; with `db`, read inside the caller's transaction. */
export async function findPullJob (boss: PgBoss, jobId: string, db?: BossDb) {
  const [job] = await boss.findJobs<PullJobData>(PULL_QUEUE, { id: jobId, ...(db ? { db } : {}) })
  return job ?? null
}

/** Removes a pull's job that no worker has taken yet (its sync was cancelled), in the caller's transaction. */
export async function dropQueuedPull (boss: PgBoss, jobId: string, db: BossDb): Promise<void> {
  const job = await findPullJob(boss, jobId, db)
  if (job && (job.state === 'created' || job.state === 'retry')) await boss.deleteJob(PULL_QUEUE, job.id, { db } as ConnectionOptions)
}

/**
 * The job of a pull whose worker died (its sync closed as WORKER_LOST by src/sync/sweeper.ts):
 * failed now if still active, so pg-boss retries it — or fails it for good after the last retry —
 * at once instead of when it expires (see `expireInSeconds` below). `lastAttempt` is also true
 * when no active job is left to retry the pull.
 */
export async function failLostPullJob (boss: PgBoss, jobId: string | null, error: { code: string, message: string }): Promise<{ lastAttempt: boolean }> {
  const job = jobId ? await findPullJob(boss, jobId) : null
  if (!job || job.state !== 'active') return { lastAttempt: true }
  await boss.fail(PULL_QUEUE, job.id, error)
  return { lastAttempt: job.retryCount >= job.retryLimit }
}

export const pullJob: JobDefinition = {
  name: PULL_QUEUE,
  // `short`: at most one queued job per source (singletonKey); the pull lease keeps two from running.
  // expireInSeconds is no liveness check: pg-boss also ends the handler after it (the longest a
  // pull may run), so it cannot be the lease. A dead worker's job is failed by the lost-pull sweep
  // once its lease expires (failLostPullJob); this expiry only catches a job whose worker died
  // before its pull created a sync.
  queue: { policy: 'short', retryLimit: 2, retryDelay: 30, retryBackoff: true, expireInSeconds: 4 * 3600 },
  // one job per loop, FERRY_PULL_CONCURRENCY loops per process (pg-boss 10 has no per-worker concurrency)
  work: { batchSize: 1, pollingIntervalSeconds: 1, includeMetadata: true },
  workers: (config) => config.pullConcurrency,
  drain: true,
  handler: (deps: Deps) => {
    // one per process: every loop shares it (src/scheduler/fairness.ts)
    const fairShare = new PullFairShare(deps)
    return async (jobs) => {
      let deferred = false
      for (const job of jobs as JobWithMetadata<PullJobData>[]) {
        deferred = (await fairShare.run(job, () => runPullJob(deps, job))).deferred
      }
      // a deferred job did no work: the loop waits its polling interval instead of fetching again at once
      return { deferred }
    }
  },
}

async function runPullJob (deps: Deps, job: JobWithMetadata<PullJobData>): Promise<void> {
  const { sourceId, trigger } = job.data
  const lastAttempt = job.retryCount >= job.retryLimit
  let sync: Sync
  try {
    sync = await pullSource(deps, { ...job.data, jobId: job.id, leaseWaitMs: 5 * 60_000 })
  } catch (err) {
    // scheduled pulls that fail for a config reason file/bump the pending item (src/pending-items/pull-failures.ts)
    await afterPullError(deps, { sourceId, trigger, error: err, lastAttempt })
    // config errors (missing secret, bad bucket) will not heal by retrying: record, don't retry
    if (isAppError(err) && err.failureType === 'config') {
      deps.logger.info({ sourceId, code: err.code }, 'pull job not retried (configuration error)')
      return
    }
    throw err
  }
  // a transient listing failure of a scheduled pull is retried by pg-boss before an item is filed
  if (await afterPull(deps, { sourceId, trigger, sync, lastAttempt }) === 'retry') {
    throw new AppError('PULL_FAILED', `The scheduled pull failed (${sync.error?.code}); it will be retried.`)
  }
}
