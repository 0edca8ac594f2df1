import type { PgBoss, SendOptions } from 'pg-boss'

export const PUSH_QUEUE = 'push-results'

/** The push job payload: ids only, never a secret. */
export interface PushJobData { sinkId: string, jobId: string, syncId: string }

export type BossDb = { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }

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
