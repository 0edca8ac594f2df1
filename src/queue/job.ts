import type { Queue, WorkOptions, Job } from 'pg-boss'
import type { Config } from '../config.js'
import type { Deps } from '../deps.js'

/**
 * A background job: one pg-boss queue and its handler. Payloads carry ids only — never a secret;
 * the handler loads what it needs (and decrypts inside the call that uses it).
 */
export interface JobDefinition {
  name: string
  queue?: Omit<Queue, 'name'>
  work?: WorkOptions
  /** independent `boss.work` loops per worker process (pg-boss 10 runs one batch at a time per loop); default 1 */
  workers?(config: Config): number
  /**
   * Fetch the next job as soon as one is done instead of waiting out the polling interval
   * (pg-boss 10 polls once per interval per loop: one job per second per loop otherwise).
   * A handler that answers `{ deferred: true }` did no work, and its loop waits as usual.
   */
  drain?: boolean
  handler(deps: Deps): (jobs: Job<any>[]) => Promise<unknown>
}
