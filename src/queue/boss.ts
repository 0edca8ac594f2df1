import { PgBoss, type ConstructorOptions, type JobInsert } from 'pg-boss'
import type { Db } from '../db/client.js'
import {
  dropSchema, lockQueueUpgrade, queueSchemaVersion, renameSchema, schemaExists, unfinishedLegacyJobs,
} from '../db/sql/queue-schema.js'
import type { Logger } from '../log.js'

export const BOSS_SCHEMA = 'pgboss'
/** Where a pg-boss 10 schema waits while its unfinished jobs are carried into the new one. */
const LEGACY_SCHEMA = 'pgboss_v10'
/** The oldest schema pg-boss 12 migrates from; pg-boss 10 (Ferry before Node 24) left version 24. */
const OLDEST_MIGRATABLE_SCHEMA = 25

/**
 * pg-boss runs on both backends through our Db adapter, so jobs and Ferry's own rows live in one
 * database and a job can be sent inside the transaction that makes it necessary.
 * `supervise` (maintenance, expiry) runs only in processes that work jobs.
 */
export function createBoss (db: Db, options: { supervise: boolean, logger: Logger }): PgBoss {
  const boss = new PgBoss({
    db: db.bossAdapter(),
    schema: BOSS_SCHEMA,
    supervise: options.supervise,
    schedule: false,
    migrate: true,
  } as ConstructorOptions)
  // pg-boss reports background failures as events; they must never crash the process.
  boss.on('error', (err: unknown) => options.logger.error({ err }, 'job queue error'))
  return boss
}

/**
 * pg-boss 12 cannot migrate the schema pg-boss 10 made (and pg-boss 11 had no migration from it),
 * so before pg-boss starts, such a schema is moved aside; `carryOverLegacyJobs` then re-queues its
 * unfinished jobs in the new schema (docs/decisions.md, "pg-boss 12").
 */
export async function setAsideLegacyQueueSchema (db: Db, logger: Logger): Promise<void> {
  await db.transaction(async (tx) => {
    await lockQueueUpgrade(tx)
    const version = await queueSchemaVersion(tx, BOSS_SCHEMA)
    if (version === null || version >= OLDEST_MIGRATABLE_SCHEMA) return
    logger.info({ version }, 'the job queue schema is pg-boss 10\'s: moving it aside to carry its jobs over')
    await renameSchema(tx, BOSS_SCHEMA, LEGACY_SCHEMA)
  })
}

/**
 * Re-queues the unfinished jobs of a set-aside pg-boss 10 schema (queues Ferry still runs; a job a
 * dead worker held is queued again, which every handler tolerates) and drops that schema, in one
 * transaction: a crash in between leaves the old schema to be carried over at the next start.
 */
export async function carryOverLegacyJobs (db: Db, boss: PgBoss, queues: string[], logger: Logger): Promise<void> {
  await db.transaction(async (tx) => {
    await lockQueueUpgrade(tx)
    if (!await schemaExists(tx, LEGACY_SCHEMA)) return
    const jobs = await unfinishedLegacyJobs(tx, LEGACY_SCHEMA)
    const byQueue = new Map<string, JobInsert[]>()
    for (const job of jobs.filter(j => queues.includes(j.name))) {
      const insert: JobInsert = { data: job.data ?? {}, priority: job.priority, startAfter: job.startAfter }
      if (job.singletonKey) insert.singletonKey = job.singletonKey
      byQueue.set(job.name, [...byQueue.get(job.name) ?? [], insert])
    }
    let carried = 0
    for (const [name, inserts] of byQueue) {
      await boss.insert(name, inserts, { db: tx.bossAdapter() })
      carried += inserts.length
    }
    await dropSchema(tx, LEGACY_SCHEMA)
    logger.info({ carried, dropped: jobs.length - carried }, 'job queue upgraded from pg-boss 10')
  })
}
