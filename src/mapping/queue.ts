import type { PgBoss, SendOptions } from 'pg-boss'
import type { BossDb } from '../db/client.js'

export const MAP_QUEUE = 'map-upload'

/** The mapping job payload: the job's id only. */
export interface MapJobData { jobId: string }

/** Queues a mapping job; with `db`, in the caller's transaction (the upload's, for autoMap). */
export async function enqueueMap (boss: PgBoss, data: MapJobData, options: { db?: BossDb } = {}): Promise<string | null> {
  return boss.send(MAP_QUEUE, data, { ...(options.db ? { db: options.db } : {}) } as SendOptions)
}
