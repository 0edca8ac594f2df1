import type { ConnectionOptions, PgBoss, SendOptions } from 'pg-boss'
import type { BossDb } from '../db/client.js'
import type { SyncTrigger } from '../db/sql/syncs.js'

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
