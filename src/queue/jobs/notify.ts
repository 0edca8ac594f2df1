import type { JobWithMetadata } from 'pg-boss'
import type { Deps } from '../../deps.js'
import { deliverNotification } from '../../channels/deliver.js'
import { NOTIFY_QUEUE, NOTIFY_RETRY_DELAY_SECONDS, NOTIFY_RETRY_LIMIT, type NotifyJobData } from '../../channels/queue.js'
import type { JobDefinition } from '../job.js'

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
