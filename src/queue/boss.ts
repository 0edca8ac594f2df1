import PgBoss from 'pg-boss'
import type { Db } from '../db/client.js'
import type { Logger } from '../log.js'

export const BOSS_SCHEMA = 'pgboss'

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
  } as PgBoss.ConstructorOptions)
  // pg-boss reports background failures as events; they must never crash the process.
  boss.on('error', (err) => options.logger.error({ err }, 'job queue error'))
  return boss
}
