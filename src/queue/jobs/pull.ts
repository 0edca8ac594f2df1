import type PgBoss from 'pg-boss'
import type { Deps } from '../../deps.js'
import type { SyncTrigger } from '../../db/sql/syncs.js'
import { isAppError } from '../../errors.js'
import { pullSource } from '../../sync/pull.js'
import type { JobDefinition } from './index.js'

export const PULL_QUEUE = 'pull-source'

/** The job payload: ids only, never a secret. */
export interface PullJobData { sourceId: string, trigger: SyncTrigger, syncId?: string }

/** Enqueues a pull; one queued pull per source at most (a second one would do the same work). */
export async function enqueuePull (boss: PgBoss, data: PullJobData, options: { db?: { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> } } = {}): Promise<string | null> {
  return boss.send(PULL_QUEUE, data, { singletonKey: data.sourceId, ...(options.db ? { db: options.db } : {}) } as PgBoss.SendOptions)
}

export const pullJob: JobDefinition = {
  name: PULL_QUEUE,
  // `short`: at most one queued job per source (singletonKey); the pull lease keeps two from running
  queue: { policy: 'short', retryLimit: 2, retryDelay: 30, retryBackoff: true, expireInSeconds: 4 * 3600 },
  work: { batchSize: 1, pollingIntervalSeconds: 1 },
  handler: (deps: Deps) => async (jobs) => {
    for (const job of jobs as PgBoss.Job<PullJobData>[]) {
      try {
        await pullSource(deps, { ...job.data, leaseWaitMs: 5 * 60_000 })
      } catch (err) {
        // config errors (missing secret, bad bucket) will not heal by retrying: record, don't retry
        if (isAppError(err) && err.failureType === 'config') {
          deps.logger.info({ sourceId: job.data.sourceId, code: err.code }, 'pull failed')
          return
        }
        throw err
      }
    }
  },
}
