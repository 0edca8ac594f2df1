import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backend, createPostgresDatabase } from '../helpers/db.js'
import { eventually } from '../helpers/channels-receivers.js'
import { freePort, spawnFerry, waitForHttp, type FerryProcess } from '../helpers/process.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

/**
 * Scale-out mode (docs/scaling.md): one `ferry serve --role api` and two `--role worker` processes on one
 * PostgreSQL. Both workers run the scheduler loop; 200 sources are made due together several
 * times ("ticks") and each must be pulled exactly once per tick — also after one worker is
 * SIGKILLed between ticks, and after a replacement joins.
 */

const SOURCES = 200
const KEY = 'fy_multiprocess_admin_key_0123456789'

describe.skipIf(backend() !== 'postgres')('the scheduler across processes (PostgreSQL)', () => {
  const cleanups: Array<() => Promise<unknown>> = []
  let s3: S3rverHandle
  let client: pg.Client
  let env: Record<string, string>
  let base: string
  let agentId: string
  const workers: FerryProcess[] = []

  const startWorker = async (): Promise<FerryProcess> => {
    // info level: the worker says when it is running (it has no HTTP port to poll)
    const worker = spawnFerry(['serve', '--role', 'worker'], { ...env, LOG_LEVEL: 'info' })
    cleanups.push(async () => { worker.child.kill('SIGKILL'); await worker.exited })
    await eventually(() => worker.output().includes('ferry is running'), 'a worker to start', 90_000)
    workers.push(worker)
    return worker
  }

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ['fleet'] })
    cleanups.push(() => s3.close())
    const database = await createPostgresDatabase()
    cleanups.push(database.drop)
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-fleet-'))
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }))
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    env = {
      DATABASE_URL: database.url,
      FERRY_DATA_DIR: dataDir,
      FERRY_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
      FERRY_BOOTSTRAP_API_KEY: KEY,
      FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      FERRY_PULL_CONCURRENCY: '8',
    }
    const apiProcess = spawnFerry(['serve', '--role', 'api'], env)
    cleanups.push(async () => { apiProcess.child.kill('SIGKILL'); await apiProcess.exited })
    let alive = true
    apiProcess.exited.then(() => { alive = false })
    await waitForHttp(`${base}/readyz`, 90_000, () => alive)
    await Promise.all([startWorker(), startWorker()])

    client = new pg.Client({ connectionString: database.url })
    await client.connect()
    cleanups.push(() => client.end())

    const call = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${base}/api/v1${url}`, {
        method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
      })
      const json = await res.json()
      if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`)
      return json
    }
    const secret = await call('POST', '/secrets', { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } })
    // once a year: nothing comes due by itself during the test; the ticks below make sources due
    agentId = (await call('POST', '/agents', { name: 'fleet', scheduleCron: '0 0 1 1 *' })).id
    for (let i = 0; i < SOURCES; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => call('POST', `/agents/${agentId}/data-sources`, {
        name: `source ${i + j}`, role: 'INVENTORY_SOURCE', type: 's3', validate: false,
        config: { bucket: 'fleet', prefix: `s${i + j}/`, region: 'us-east-1', secretRef: secret.id, endpoint: s3.endpoint, forcePathStyle: true },
      })))
    }
  }, 240_000)

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {})
  })

  /** Scheduled syncs per source (finished or not). */
  const counts = async (): Promise<number[]> => {
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(y.id) AS n FROM data_sources s LEFT JOIN syncs y ON y.source_id = s.id AND y.trigger = 'schedule'
       WHERE s.agent_id = $1 GROUP BY s.id`, [agentId])
    return rows.map(r => Number(r.n))
  }

  /** Makes every source due now; the workers' loops find them within a second or so. */
  async function tick (k: number): Promise<void> {
    await client.query('UPDATE data_sources SET next_pull_at = now() WHERE agent_id = $1', [agentId])
    await eventually(async () => {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM syncs y JOIN data_sources s ON s.id = y.source_id
         WHERE s.agent_id = $1 AND y.trigger = 'schedule' AND y.status = 'succeeded'`, [agentId])
      return Number(rows[0].n) >= k * SOURCES
    }, `tick ${k}'s pulls`, 60_000)
    // the queue has drained: nothing is left to add a pull to this tick
    await eventually(async () => {
      const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pgboss.job WHERE name = 'pull-source' AND state < 'completed'")
      return Number(rows[0].n) === 0
    }, 'the pull queue to drain', 30_000)
    const perSource = await counts()
    expect(perSource).toHaveLength(SOURCES)
    expect(Math.min(...perSource)).toBe(k)
    expect(Math.max(...perSource)).toBe(k)
    // rescheduled past now, to next New Year
    const { rows } = await client.query<{ n: string }>(
      "SELECT count(*) AS n FROM data_sources WHERE agent_id = $1 AND next_pull_at > now() + interval '1 day'", [agentId])
    expect(Number(rows[0].n)).toBe(SOURCES)
  }

  it('pulls every source exactly once per tick, with two workers, after one is SIGKILLed, and after a new one joins', async () => {
    await tick(1)

    workers[0].child.kill('SIGKILL')
    await workers[0].exited
    await tick(2)

    await startWorker()
    await tick(3)

    // every pull of every tick succeeded; none failed or ran twice
    const { rows } = await client.query<{ status: string, n: string }>(
      'SELECT y.status, count(*) AS n FROM syncs y JOIN data_sources s ON s.id = y.source_id WHERE s.agent_id = $1 GROUP BY y.status', [agentId])
    expect(rows.map(r => [r.status, Number(r.n)])).toEqual([['succeeded', 3 * SOURCES]])
  }, 180_000)
})
