import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { startRuntime, type Runtime } from '../../src/runtime.js'
import { BOSS_SCHEMA } from '../../src/queue/boss.js'
import { queueSchemaVersion } from '../../src/db/sql/queue-schema.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

// pg-boss 10 is what Ferry ran on before Node 24; the dev dependency `pg-boss-10` makes its schema here.
const PgBoss10 = createRequire(import.meta.url)('pg-boss-10') as new (options: object) => {
  start(): Promise<unknown>, stop(options: object): Promise<void>, on(event: string, listener: () => void): void
  createQueue(name: string, options: object): Promise<void>, send(name: string, data: object, options?: object): Promise<string | null>
}

describe('a database whose job queue pg-boss 10 made', () => {
  let database: TestDatabase
  let runtime: Runtime
  let before: number | null

  beforeAll(async () => {
    database = await createTestDatabase()
    const old = new PgBoss10({ db: database.db.bossAdapter(), schema: BOSS_SCHEMA, supervise: false, schedule: false, migrate: true })
    old.on('error', () => {})
    await old.start()
    await old.createQueue('notify-channel', { name: 'notify-channel', policy: 'standard' })
    await old.createQueue('gone', { name: 'gone', policy: 'standard' })
    // due in an hour, so no worker takes it before the test looks at it
    await old.send('notify-channel', { deliveryId: 'kept' }, { singletonKey: 'kept', startAfter: 3600 })
    await old.send('gone', { a: 1 })
    await old.stop({ graceful: false, wait: true, close: false })
    before = await queueSchemaVersion(database.db, BOSS_SCHEMA)

    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-test-'))
    const config = loadConfig({
      FERRY_DATA_DIR: dataDir,
      FERRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      FERRY_BOOTSTRAP_API_KEY: 'fy_test_instance_admin_key_0123456789',
      FERRY_SCHEDULER_INTERVAL_MS: '0',
    })
    runtime = await startRuntime(config, { role: 'all', logger: createLogger({ level: 'silent' }), db: database.db, print: () => {} })
  })
  afterAll(async () => {
    await runtime?.stop()
    await database?.drop().catch(() => {})
  })

  it('starts on it: its unfinished jobs of Ferry\'s queues are carried into the new schema, the old one is dropped', async () => {
    expect(before).toBe(24)
    expect(await queueSchemaVersion(database.db, BOSS_SCHEMA)).toBeGreaterThan(24)
    const jobs = await runtime.deps.boss.findJobs('notify-channel', { key: 'kept' })
    expect(jobs.map(j => ({ data: j.data, state: j.state, singletonKey: j.singletonKey })))
      .toEqual([{ data: { deliveryId: 'kept' }, state: 'created', singletonKey: 'kept' }])
    expect(jobs[0].startAfter.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000)
    // the old schema is gone once its jobs are carried over
    expect(await queueSchemaVersion(database.db, 'pgboss_v10')).toBeNull()
    expect(await runtime.deps.boss.getQueue('pull-source')).toMatchObject({ name: 'pull-source', policy: 'short' })
  })
})
