import type { PgBoss, JobInsert, InsertOptions } from 'pg-boss'
import type { BossDb } from '../db/client.js'

export const NOTIFY_QUEUE = 'notify-channel'

/** The job payload: the delivery row's id only (the handler loads channel, item and secret). */
export interface NotifyJobData { deliveryId: string }

/** Retries after a failed attempt: 15 s, 30 s, 1 min, 2 min, 4 min, 8 min (pg-boss exponential backoff). */
export const NOTIFY_RETRY_LIMIT = 6
export const NOTIFY_RETRY_DELAY_SECONDS = 15

/** Enqueues one job per delivery in one statement; pass `db` to commit them with the caller's transaction. */
export async function enqueueDeliveries (boss: PgBoss, deliveryIds: string[], options: { db?: BossDb } = {}): Promise<void> {
  if (deliveryIds.length === 0) return
  const jobs: JobInsert<NotifyJobData>[] = deliveryIds.map(deliveryId => ({ data: { deliveryId }, singletonKey: deliveryId }))
  await boss.insert(NOTIFY_QUEUE, jobs, (options.db ? { db: options.db } : {}) as InsertOptions)
}
