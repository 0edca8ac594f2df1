import type { FastifyInstance } from 'fastify'
import type PgBoss from 'pg-boss'
import { buildApp } from './app.js'
import { bootstrapAdminKey } from './auth/api-keys.js'
import { wholeSpaceRanges, type Config } from './config.js'
import type { Deps } from './deps.js'
import { openDb, type Db } from './db/client.js'
import { migrate } from './db/migrate.js'
import type { Logger } from './log.js'
import { sweepTempDirs } from './inbound/spool.js'
import { createMetrics } from './metrics.js'
import { createBoss } from './queue/boss.js'
import { JOBS } from './queue/jobs/index.js'
import { loadMasterKey, masterKeyPath } from './vault/keyring.js'
import { openVault, type FindSecretUsers } from './vault/vault.js'
import { findSourcesUsingSecret } from './db/sql/sources.js'
import { findChannelsUsingSecret } from './db/sql/channels.js'
import { InventoryPipeline } from './pipeline/ingest.js'
import { autoMapHook } from './jobs/service.js'
import { startDeliverySweeper } from './push/service.js'
import { AddressPolicy } from './net/address-policy.js'
import { SchedulerLoop } from './scheduler/scheduler.js'

export type Role = 'api' | 'worker' | 'all'

export interface Runtime {
  deps: Deps
  /** present unless the role is `worker` */
  app?: FastifyInstance
  /** stop taking requests and jobs, let in-flight jobs finish (or fail them for retry), close the db */
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
      { logger, keySource: config.masterKey ? 'FERRY_MASTER_KEY' : masterKeyPath(config.dataDir), findSecretUsers })
    await bootstrapAdminKey(db, { bootstrapApiKey: config.bootstrapApiKey, dataDir: config.dataDir, logger, print: options.print })

    const works = role !== 'api'
    const boss = createBoss(db, { supervise: works, logger })
    let bossReady = false
    await boss.start()
    releasers.push(() => boss.stop({ graceful: true, wait: true, timeout: 10_000 }))
    for (const job of JOBS) await ensureQueue(boss, job.name, job.queue)
    bossReady = true

    const metrics = createMetrics()
    // rules.autoMap: the mapping job is queued in the upload's own transaction
    const pipeline = new InventoryPipeline({ limits: config.limits, onRowsAccepted: n => metrics.rowsIngested.inc(n), afterIngest: [autoMapHook(boss)] })
    const deps: Deps = { config, db, logger, vault, boss, metrics, pipeline, policy: new AddressPolicy(config.allowPrivateNetworks), isReady: async () => bossReady }
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
      if (config.schedulerIntervalMs > 0) {
        // every worker schedules; SKIP LOCKED splits the due sources between them (src/scheduler)
        const scheduler = new SchedulerLoop(deps, { intervalMs: config.schedulerIntervalMs })
        scheduler.start()
        releasers.push(() => scheduler.stop())
      }
    }
    let app: FastifyInstance | undefined
    if (role !== 'worker') {
      app = await buildApp(deps)
      releasers.push(() => app!.close())
    }
    return { deps, app, stop: () => release(releasers, logger) }
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

async function ensureQueue (boss: PgBoss, name: string, options?: Omit<PgBoss.Queue, 'name'>): Promise<void> {
  if (!await boss.getQueue(name)) await boss.createQueue(name, { name, ...options } as PgBoss.Queue)
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
