import type { ConnectionOptions, FindJobsOptions, PgBoss, SendOptions } from 'pg-boss'
import type { BossDb } from '../db/client.js'

export const PUSH_QUEUE = 'push-results'

/** The push job payload: ids only, never a secret. */
export interface PushJobData { sinkId: string, jobId: string, syncId: string }

/**
 * Queues one attempt of a delivery. At most one queued job per delivery (singletonKey = sync id):
 * a retry scheduled with `startAfter` and the sweeper's re-queue cannot pile up. `db` sends it in
 * the caller's transaction (it exists only if the transaction commits).
 */
export async function enqueuePush (boss: PgBoss, data: PushJobData, options: { db?: BossDb, startAfter?: Date } = {}): Promise<string | null> {
  return boss.send(PUSH_QUEUE, data, {
    singletonKey: data.syncId,
    ...(options.startAfter ? { startAfter: options.startAfter } : {}),
    ...(options.db ? { db: options.db } : {}),
  } as SendOptions)
}

/**
 * Removes the queued attempt of a delivery (waiting for its `startAfter`), in the caller's
 * transaction: "Retry now" queues one due at once instead (singletonKey allows one queued job), a
 * cancelled push needs none.
 */
export async function dropQueuedPush (boss: PgBoss, syncId: string, db: BossDb): Promise<void> {
  const queued = await boss.findJobs(PUSH_QUEUE, { key: syncId, queued: true, db } as FindJobsOptions)
  if (queued.length > 0) await boss.deleteJob(PUSH_QUEUE, queued.map(j => j.id), { db } as ConnectionOptions)
}
