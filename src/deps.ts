import type PgBoss from 'pg-boss'
import type { Config } from './config.js'
import type { Db } from './db/client.js'
import type { Logger } from './log.js'
import type { Metrics } from './metrics.js'

/**
 * What the composition root (src/runtime.ts) builds and hands to routes and jobs. Nothing reaches
 * for a global: every service gets what it uses from here, passed explicitly.
 */
export interface Deps {
  config: Config
  db: Db
  logger: Logger
  boss: PgBoss
  metrics: Metrics
  /** set once the pg-boss schema exists and the queues are created */
  isReady(): Promise<boolean>
}
