import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { loadConfig, type Config } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { startRuntime, type Role, type Runtime } from '../../src/runtime.js'
import { createTestDatabase, type TestDatabase } from './db.js'

export const ADMIN_KEY = 'fy_test_instance_admin_key_0123456789'

export interface TestApp {
  app: FastifyInstance
  runtime: Runtime
  config: Config
  database: TestDatabase
  /** every log line the runtime wrote, as raw JSON text */
  logs: string[]
  dataDir: string
  /** an org with its admin key (the bootstrap org "default") */
  adminKey: string
  /** request helper with a bearer key */
  api(method: string, url: string, options?: { key?: string | null, body?: unknown, headers?: Record<string, string> }): Promise<LightMyRequestResponse>
  /** creates a new organisation and returns its admin key */
  newOrg(name?: string): Promise<string>
  close(): Promise<void>
}

/**
 * The real runtime (migrations, pg-boss, routes) on a fresh database of the backend under test,
 * with a logger that records every line so tests can assert what was (never) logged.
 */
export async function createTestApp (options: { env?: Record<string, string>, role?: Role } = {}): Promise<TestApp> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-test-'))
  const config = loadConfig({
    FERRY_DATA_DIR: dataDir,
    FERRY_BOOTSTRAP_API_KEY: ADMIN_KEY,
    FERRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'debug',
    // no scheduled pull fires in the middle of a test that did not ask for one (a test that wants
    // the loop sets this; test/integration/scheduler*.test.ts run ticks themselves)
    FERRY_SCHEDULER_INTERVAL_MS: '0',
    ...options.env,
  })
  const logs: string[] = []
  const destination = new Writable({ write (chunk, _enc, cb) { logs.push(chunk.toString()); cb() } })
  const logger = createLogger({ level: 'debug', destination })
  const database = await createTestDatabase()
  const runtime = await startRuntime(config, { role: options.role ?? 'all', logger, db: database.db, print: () => {} })
  const app = runtime.app!
  await app.ready()

  const api: TestApp['api'] = (method, url, opts = {}) => {
    const key = opts.key === undefined ? ADMIN_KEY : opts.key
    return app.inject({
      method: method as 'GET',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...opts.headers },
      ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
    })
  }

  return {
    app,
    runtime,
    config,
    database,
    logs,
    dataDir,
    adminKey: ADMIN_KEY,
    api,
    async newOrg (name = 'other') {
      const res = await api('POST', '/api/v1/admin/orgs', { body: { name } })
      if (res.statusCode !== 201) throw new Error(`could not create org: ${res.body}`)
      return res.json().apiKey as string
    },
    async close () {
      await runtime.stop()
      await database.drop().catch(() => {})
      await fs.rm(dataDir, { recursive: true, force: true })
    },
  }
}
