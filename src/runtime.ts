import type { FastifyInstance } from 'fastify'
import type { PgBoss, Queue } from 'pg-boss'
import { buildApp } from './app.js'
import { bootstrapAdminKey } from './auth/api-keys.js'
import { wholeSpaceRanges, type Config } from './config.js'
import type { Deps } from './deps.js'
import { openDb } from './db/open.js'
import type { Db } from './db/client.js'
import { migrate } from './db/migrate.js'
import type { Logger } from './log.js'
import { sweepTempDirs } from './inbound/spool.js'
import { createMetrics, sampleOps } from './metrics.js'
import { carryOverLegacyJobs, createBoss, setAsideLegacyQueueSchema } from './queue/boss.js'
import { JOBS } from './queue/jobs/index.js'
import { loadMasterKey, masterKeyPath } from './vault/keyring.js'
import { openVault, type FindSecretUsers } from './vault/vault.js'
import { findSourcesUsingSecret } from './db/sql/sources.js'
import { findChannelsUsingSecret } from './db/sql/channels.js'
import { InventoryPipeline } from './pipeline/ingest.js'
import { autoMapHook } from './mapping/service.js'
import { startDeliverySweeper } from './push/service.js'
import { AddressPolicy } from './net/address-policy.js'
import { SchedulerLoop } from './scheduler/scheduler.js'
import { startSyncSweeper } from './sync/sweeper.js'
import { startRetention } from './retention/purge.js'
import { startStagedSweep } from './retention/staged.js'

export type Role = 'api' | 'worker' | 'all'

/** How often a process whose scheduler is off (FERRY_SCHEDULER_INTERVAL_MS=0) sweeps for lost pulls. */
const DEFAULT_SWEEP_MS = 1000

export interface Runtime {
  deps: Deps
  /** present unless the role is `worker` */
  app?: FastifyInstance
  /**
   * Stops within the grace period (FERRY_SHUTDOWN_GRACE_MS): takes no new requests or jobs, rolls
   * back the ingests and pulls in flight (their requests get 503, their jobs are retried), cuts off
   * connections still open after half the grace period, closes the database.
   */
  stop(): Promise<void>
}

export interface RuntimeOptions {
  role: Role
  logger: Logger
  /** an already open database (tests); otherwise opened from config */
  db?: Db
  /** printed once when the first admin key is generated */
  print?: (line: string) => void
}

/** The composition root: builds every service once and passes each its dependencies. */
export async function startRuntime (config: Config, options: RuntimeOptions): Promise<Runtime> {
  const { logger, role } = options
  if (!config.databaseUrl && role !== 'all') {
    throw new Error('--role api|worker needs DATABASE_URL: the embedded database belongs to one process')
  }
  const db = options.db ?? await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  const releasers: Array<() => Promise<unknown>> = [() => db.close()]
  const shutdown = new AbortController()
  // half the grace period for jobs and requests to end after the abort; the rest is for closing
  const drainMs = Math.max(1000, Math.floor(config.shutdownGraceMs / 2))
  try {
    const wideOpen = wholeSpaceRanges(config.allowPrivateNetworks)
    if (wideOpen.length) {
      logger.warn({ ranges: wideOpen }, `FERRY_ALLOW_PRIVATE_NETWORKS opens the whole address space (${wideOpen.join(', ')}): ` +
        'customer-supplied URLs may reach loopback, private and cloud-metadata addresses')
    }
    // temp files a SIGKILLed process left behind (src/inbound/spool.ts)
    await sweepTempDirs(config.dataDir, logger)
    const { applied } = await migrate(db)
    if (applied.length) logger.info({ applied }, 'migrations applied')
    // refuses to start (MASTER_KEY_MISMATCH) if the stored secrets need another master key
    const vault = await openVault(db, await loadMasterKey(config, { logger }),
      {
        logger, keySource: config.masterKey ? 'FERRY_MASTER_KEY' : masterKeyPath(config.dataDir), findSecretUsers,
        webhookSecretOverlapHours: config.webhookSecretOverlapHours,
      })
    await bootstrapAdminKey(db, { bootstrapApiKey: config.bootstrapApiKey, dataDir: config.dataDir, logger, print: options.print })

    const works = role !== 'api'
    await setAsideLegacyQueueSchema(db, logger)
    const boss = createBoss(db, { supervise: works, logger })
    let bossReady = false
    await boss.start()
    // one promise, called early by the shutdown (stop fetching) and again by the release order
    let bossStopped: Promise<void> | undefined
    const stopBoss = () => (bossStopped ??= boss.stop({ graceful: true, timeout: drainMs }))
    releasers.push(stopBoss)
    for (const job of JOBS) await ensureQueue(boss, job.name, job.queue)
    await carryOverLegacyJobs(db, boss, JOBS.map(j => j.name), logger)
    bossReady = true

    const metrics = createMetrics({
      sample: () => sampleOps(db, boss),
      onSampleError: (err) => logger.warn({ err }, 'could not read the operational metrics'),
    })
    // rules.autoMap: the mapping job is queued in the transaction that publishes the upload
    const pipeline = new InventoryPipeline({
      limits: config.limits, onRowsAccepted: n => metrics.rowsIngested.inc(n), afterIngest: [autoMapHook(boss)], signal: shutdown.signal,
    })
    const policy = new AddressPolicy(config.allowPrivateNetworks)
    const deps: Deps = { config, db, logger, vault, boss, metrics, pipeline, policy, isReady: async () => bossReady, signal: shutdown.signal }
    if (works) {
      for (const job of JOBS) {
        const handler = job.handler(deps)
        for (let i = 0; i < (job.workers?.(config) ?? 1); i++) {
          if (!job.drain) {
            await boss.work(job.name, job.work ?? {}, handler)
            continue
          }
          let workerId = ''
          workerId = await boss.work(job.name, job.work ?? {}, async (jobs) => {
            const result = await handler(jobs)
            if (!(result as { deferred?: unknown } | undefined)?.deferred) boss.notifyWorker(workerId)
            return result
          })
        }
      }
      // pushes whose worker died mid-attempt (or whose queued attempt was lost) are queued again
      const sweeper = startDeliverySweeper(deps)
      releasers.push(() => sweeper.stop())
      // pulls whose worker died are closed (WORKER_LOST) and their jobs handed back, once per scheduler tick
      const syncSweeper = startSyncSweeper(deps, config.schedulerIntervalMs || DEFAULT_SWEEP_MS)
      releasers.push(() => syncSweeper.stop())
      // the staged rows of files never published (a process that died mid-file) are purged, at start and every minute
      const stagedSweep = startStagedSweep(deps)
      releasers.push(() => stagedSweep.stop())
      // FERRY_RETENTION_DAYS: one worker a day purges what is past the window (docs/reliability.md "Retention")
      if (config.retentionDays > 0) {
        const retention = startRetention(deps)
        releasers.push(() => retention.stop())
      }
      if (config.schedulerIntervalMs > 0) {
        // every worker schedules; SKIP LOCKED splits the due sources between them (src/scheduler)
        const scheduler = new SchedulerLoop(deps, { intervalMs: config.schedulerIntervalMs })
        scheduler.start()
        releasers.push(() => scheduler.stop())
      }
    }
    let app: FastifyInstance | undefined
    if (role !== 'worker') {
      const http = app = await buildApp(deps)
      releasers.push(() => closeHttp(http, drainMs))
    }
    let stopped: Promise<void> | undefined
    const stop = async (): Promise<void> => {
      // The queue's workers stop fetching first (pg-boss stops them before it starts waiting), so a
      // job loop whose handler the abort ends does not fetch the next job only to abort it too.
      // (A failure of the stop is logged where release() awaits the same promise.)
      stopBoss().catch(() => {})
      await new Promise(resolve => setImmediate(resolve))
      shutdown.abort()
      // LIFO: the HTTP server, the sweepers and the scheduler, the queue (waiting for its handlers), the database
      await release(releasers, logger)
    }
    return { deps, app, stop: () => (stopped ??= stop()) }
  } catch (err) {
    await release(releasers, logger)
    throw err
  }
}

/** Everything that refers to a vault entry: a secret in use cannot be deleted (409 SECRET_IN_USE). */
const findSecretUsers: FindSecretUsers = async (q, orgId, secretId) => [
  ...await findSourcesUsingSecret(q, orgId, secretId),
  ...await findChannelsUsingSecret(q, orgId, secretId),
]

async function ensureQueue (boss: PgBoss, name: string, options?: Omit<Queue, 'name'>): Promise<void> {
  if (!await boss.getQueue(name)) await boss.createQueue(name, { name, ...options } as Queue)
}

/**
 * Stops listening and answers 503 to requests that arrive on open connections (Fastify's closing
 * state); requests in flight have been aborted and answer 503 on their own. A connection still open
 * after `drainMs` — a request whose body trickles in before any handler could see it — is cut off.
 */
async function closeHttp (app: FastifyInstance, drainMs: number): Promise<void> {
  const closing = app.close()
  const timer = setTimeout(() => app.server.closeAllConnections(), drainMs)
  timer.unref()
  try {
    await closing
  } finally {
    clearTimeout(timer)
  }
}

/** LIFO: the HTTP server stops first, then the queue, then the database. */
async function release (releasers: Array<() => Promise<unknown>>, logger: Logger): Promise<void> {
  while (releasers.length) {
    const next = releasers.pop()!
    try {
      await next()
    } catch (err) {
      logger.error({ err }, 'error during shutdown')
    }
  }
}
