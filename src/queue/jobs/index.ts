import type PgBoss from 'pg-boss'
import type { Deps } from '../../deps.js'
import { pullJob } from './pull.js'

/**
 * A background job: one pg-boss queue and its handler. Payloads carry ids only — never a secret;
 * the handler loads what it needs (and decrypts inside the call that uses it).
 */
export interface JobDefinition {
  name: string
  queue?: Omit<PgBoss.Queue, 'name'>
  work?: PgBoss.WorkOptions
  handler(deps: Deps): (jobs: PgBoss.Job<any>[]) => Promise<unknown>
}

/** Every job Ferry runs; later features add theirs here. */
export const JOBS: JobDefinition[] = [pullJob]
