import type { Job } from 'pg-boss'
import type { Deps } from '../../deps.js'
import { PUSH_QUEUE, type PushJobData } from '../../push/queue.js'
import { runPush } from '../../push/service.js'
import type { JobDefinition } from '../job.js'

/**
 * One job = one delivery attempt. Retries of the *delivery* are new jobs with startAfter (sent when
 * the failed attempt is recorded); pg-boss's own retries only cover a handler that threw (the
 * database went away), and claiming makes a repeated job harmless.
 */
export const pushJob: JobDefinition = {
  name: PUSH_QUEUE,
  // `short`: one queued job per delivery (singletonKey = sync id)
  queue: { policy: 'short', retryLimit: 3, retryDelay: 5, expireInSeconds: 3600 },
  work: { batchSize: 1, pollingIntervalSeconds: 0.5 },
  // a receiver that hangs holds one loop for the target timeout: several loops keep the others moving
  workers: () => 4,
  // without it each loop sleeps out the polling interval after every delivery (≈ 8 pushes/s a
  // process, found by the push benchmark)
  drain: true,
  handler: (deps: Deps) => async (jobs) => {
    for (const job of jobs as Job<PushJobData>[]) await runPush(deps, job.data)
  },
}
