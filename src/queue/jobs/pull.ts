import type { JobWithMetadata } from 'pg-boss'
import type { Deps } from '../../deps.js'
import { PullFairShare } from '../../scheduler/fairness.js'
import { runPullJob } from '../../sync/pull-job.js'
import { PULL_QUEUE, type PullJobData } from '../../sync/queue.js'
import type { JobDefinition } from '../job.js'

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
