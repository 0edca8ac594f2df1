import type { JobWithMetadata } from 'pg-boss'
import type { Deps } from '../deps.js'
import type { Sync } from '../db/sql/syncs.js'
import { afterPull, afterPullError } from '../pending-items/pull-failures.js'
import { AppError, isAppError } from '../errors.js'
import { pullSource } from './pull.js'
import type { PullJobData } from './queue.js'

/** One pull job: the pull, then what its outcome files or clears (src/pending-items/pull-failures.ts). */
export async function runPullJob (deps: Deps, job: JobWithMetadata<PullJobData>): Promise<void> {
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
