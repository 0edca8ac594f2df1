import type { JobDefinition } from '../job.js'
import { pullJob } from './pull.js'
import { notifyJob } from './notify.js'
import { mapJob } from './map.js'
import { pushJob } from './push.js'

/**
 * Every job Ferry runs: each feature owns its queue name, payload and enqueue function
 * (src/sync/queue.ts, src/channels/queue.ts, src/mapping/queue.ts, src/push/queue.ts); the files
 * here only wire a queue to its handler and policy.
 */
export const JOBS: JobDefinition[] = [pullJob, notifyJob, mapJob, pushJob]
