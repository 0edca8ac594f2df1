import type { Job } from 'pg-boss'
import type { Deps } from '../../deps.js'
import { PUSH_QUEUE, type PushJobData } from '../../push/queue.js'
import { runPushes } from '../../push/service.js'
import type { JobDefinition } from '../job.js'

/** Independent delivery loops per worker process: a receiver that hangs holds one loop for the target timeout, the others keep moving. */
export const PUSH_LOOPS = 4
/**
 * Attempts one loop fetches, claims and makes together (src/push/service.ts, runPushes): a worker
 * process has at most PUSH_LOOPS × PUSH_BATCH requests in flight.
 */
export const PUSH_BATCH = 4

/**
 * One job = one delivery attempt. Retries of the *delivery* are new jobs with startAfter (sent when
 * the failed attempt is recorded); pg-boss's own retries only cover a handler that threw (the
 * database went away), and claiming makes a repeated job harmless.
 */
export const pushJob: JobDefinition = {
  name: PUSH_QUEUE,
  // `short`: one queued job per delivery (singletonKey = sync id)
  queue: { policy: 'short', retryLimit: 3, retryDelay: 5, expireInSeconds: 3600 },
  work: { batchSize: PUSH_BATCH, pollingIntervalSeconds: 0.5 },
  workers: () => PUSH_LOOPS,
  // without it each loop sleeps out the polling interval after every batch (≈ 8 pushes/s a
  // process, found by the push benchmark)
  drain: true,
  handler: (deps: Deps) => async (jobs) => runPushes(deps, (jobs as Job<PushJobData>[]).map(job => job.data)),
}
