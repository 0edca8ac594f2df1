import type { JobWithMetadata } from 'pg-boss'
import type { Deps } from '../../deps.js'
import { MAP_QUEUE, type MapJobData } from '../../mapping/queue.js'
import { runMappingJob } from '../../mapping/service.js'
import type { JobDefinition } from '../job.js'

export const mapJob: JobDefinition = {
  name: MAP_QUEUE,
  // a crashed worker's job is retried after expiry; a newer copy of a job takes it over from an older one (holdJob)
  queue: { policy: 'standard', retryLimit: 2, retryDelay: 10, expireInSeconds: 15 * 60 },
  work: { batchSize: 1, pollingIntervalSeconds: 1, includeMetadata: true },
  workers: () => 2,
  handler: (deps: Deps) => async (jobs) => {
    for (const job of jobs as JobWithMetadata<MapJobData>[]) {
      await runMappingJob(deps, job.data.jobId, { lastAttempt: job.retryCount >= job.retryLimit })
    }
  },
}
