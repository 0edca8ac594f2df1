import type { PgBoss } from 'pg-boss'
import type { Config } from './config.js'
import type { Db } from './db/client.js'
import type { Logger } from './log.js'
import type { Metrics } from './metrics.js'
import type { Vault } from './vault/vault.js'
import type { AddressPolicy } from './net/address-policy.js'
import type { InventoryPipeline } from './pipeline/ingest.js'

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
  /** encrypted secrets; decrypts only inside withSecret/resolve */
  vault: Vault
  /** which addresses customer-supplied targets may reach (FERRY_ALLOW_PRIVATE_NETWORKS) */
  policy: AddressPolicy
  /** the standard inventory pipeline every file goes through */
  pipeline: InventoryPipeline
  /** set once the pg-boss schema exists and the queues are created */
  isReady(): Promise<boolean>
  /**
   * aborted when the process stops (SIGTERM/SIGINT, src/runtime.ts): long work — an ingest, a pull,
   * an inbound body still arriving — stops at once, its transaction rolls back, a request gets 503
   */
  signal: AbortSignal
}
