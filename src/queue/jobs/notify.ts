import type { PgBoss, JobInsert, InsertOptions, JobWithMetadata } from 'pg-boss'
import type { Deps } from '../../deps.js'
import { deliverNotification } from '../../channels/deliver.js'
import type { JobDefinition } from './index.js'

export const NOTIFY_QUEUE = 'notify-channel'

/** The job payload: the delivery row's id only (the handler loads channel, item and secret). */
export interface NotifyJobData { deliveryId: string }

/** Retries after a failed attempt: 15 s, 30 s, 1 min, 2 min, 4 min, 8 min (pg-boss exponential backoff). */
export const NOTIFY_RETRY_LIMIT = 6
const NOTIFY_RETRY_DELAY_SECONDS = 15

type BossDb = { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }

/** Enqueues one job per delivery in one statement; pass `db` to commit them with the caller's transaction. */
export async function enqueueDeliveries (boss: PgBoss, deliveryIds: string[], options: { db?: BossDb } = {}): Promise<void> {
  if (deliveryIds.length === 0) return
  const jobs: JobInsert<NotifyJobData>[] = deliveryIds.map(deliveryId => ({ data: { deliveryId }, singletonKey: deliveryId }))
  await boss.insert(NOTIFY_QUEUE, jobs, (options.db ? { db: options.db } : {}) as InsertOptions)
}

export const notifyJob: JobDefinition = {
  name: NOTIFY_QUEUE,
  queue: { policy: 'standard', retryLimit: NOTIFY_RETRY_LIMIT, retryDelay: NOTIFY_RETRY_DELAY_SECONDS, retryBackoff: true, expireInSeconds: 10 * 60 },
  work: { batchSize: 1, pollingIntervalSeconds: 1, includeMetadata: true },
  // several independent loops: one slow channel (up to the target timeout) must not hold up the others
  workers: () => 4,
  drain: true,
  handler: (deps: Deps) => async (jobs) => {
    for (const job of jobs as JobWithMetadata<NotifyJobData>[]) {
      const outcome = await deliverNotification(deps, job.data.deliveryId, { lastAttempt: job.retryCount >= job.retryLimit })
      // failing the job hands it back to pg-boss, which retries it with backoff
      if (outcome === 'retry') throw new Error('The notification was not delivered; it will be retried.')
    }
  },
}
