import { HeadObjectCommand } from '@aws-sdk/client-s3'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { backend, createPostgresDatabase } from '../helpers/db.js'
import { freePort, spawnFerry, waitForHttp, type FerryProcess } from '../helpers/process.js'
import { startReceiver } from '../helpers/receiver.js'
import { startS3rver } from '../helpers/s3.js'
import { until as waitUntil } from '../helpers/poll.js'

// Real `ferry serve` processes on one PostgreSQL database (the scale-out mode): a worker killed in
// the middle of a push, and a 200 MB result streamed to S3 by a process whose memory is measured.
// PostgreSQL only: the embedded PGlite database belongs to one process.

const KEY = 'fy_test_push_process_admin_key_0123456789'
const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}) })

async function startFerry (databaseUrl: string, extra: Record<string, string> = {}): Promise<FerryProcess & { base: string }> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-push-proc-'))
  cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }))
  const port = await freePort()
  const proc = spawnFerry(['serve'], {
    PORT: String(port),
    FERRY_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    FERRY_BOOTSTRAP_API_KEY: KEY,
    FERRY_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
    FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
    LOG_LEVEL: 'warn',
    ...extra,
  })
  let alive = true
  proc.exited.then(() => { alive = false })
  cleanups.push(async () => { if (alive) { proc.child.kill('SIGKILL'); await proc.exited } })
  const base = `http://127.0.0.1:${port}`
  await waitForHttp(`${base}/readyz`, 90_000, () => alive).catch((err) => { throw new Error(`${err.message}\n${proc.output()}`) })
  return { ...proc, base }
}

const call = async (base: string, method: string, url: string, body?: unknown) => {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

const until = <T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000) => waitUntil(what, fn, timeoutMs, 200)

/** An agent with one succeeded mapping job (of a small upload). */
async function agentWithJob (base: string): Promise<{ agentId: string, jobId: string }> {
  const agentId = (await call(base, 'POST', '/api/v1/agents', { name: 'process', rules: { autoMap: false } })).body.id
  const form = new FormData()
  form.append('file', new Blob(['sku,quantity\nK-1,1\nK-2,2\n'], { type: 'text/csv' }), 'stock.csv')
  const up = await fetch(`${base}/api/v1/agents/${agentId}/inventory/uploads`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form })
  expect(up.status).toBe(201)
  const created = await call(base, 'POST', `/api/v1/agents/${agentId}/jobs`, { uploadId: (await up.json()).id })
  const job = await until('the job', async () => {
    const j = (await call(base, 'GET', `/api/v1/agents/${agentId}/jobs/${created.body.id}`)).body
    return j.status === 'succeeded' ? j : null
  }, 60_000)
  return { agentId, jobId: job.id }
}

/** Peak resident set size of a process (VmHWM), bytes; Linux only. */
const peakRss = async (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024
const currentRss = async (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'))![1]) * 1024

describe.skipIf(backend() !== 'postgres' || process.platform !== 'linux')('pushes across processes', () => {
  it('a worker killed during a webhook push: the next one takes over, one successful delivery recorded, same webhook-id', async () => {
    const db = await createPostgresDatabase()
    cleanups.push(db.drop)
    // the first POST never gets an answer (the worker dies while waiting); the second is accepted
    const receiver = await startReceiver([{ hang: true }], { status: 200 })
    cleanups.push(() => receiver.close())

    const a = await startFerry(db.url, { FERRY_TARGET_TIMEOUT_MS: '120000' })
    const { agentId, jobId } = await agentWithJob(a.base)
    const secret = (await call(a.base, 'POST', '/api/v1/secrets', { name: 'signing', type: 'webhook' })).body
    const sink = (await call(a.base, 'POST', `/api/v1/agents/${agentId}/data-sources`, {
      name: 'receiver', role: 'RESULTS_SINK', type: 'webhook', config: { url: `${receiver.url}/in`, secretRef: secret.id }, validate: false,
    })).body
    const pushed = await call(a.base, 'POST', `/api/v1/agents/${agentId}/data-sources/${sink.id}/push`, { jobId })
    expect(pushed.status).toBe(202)
    const syncId = pushed.body.syncId

    await receiver.waitForPosts(1, 60_000)
    a.child.kill('SIGKILL')
    await a.exited
    const pool = new pg.Pool({ connectionString: db.url, max: 1 })
    cleanups.push(() => pool.end())
    const state = async () => (await pool.query('SELECT state, attempt FROM push_deliveries WHERE sync_id = $1', [syncId])).rows[0]
    expect(await state()).toEqual({ state: 'delivering', attempt: 1 })

    const b = await startFerry(db.url, { FERRY_TARGET_TIMEOUT_MS: '10000' })
    const sync = await until('the delivery to be taken over', async () => {
      const s = (await call(b.base, 'GET', `/api/v1/agents/${agentId}/data-sources/${sink.id}/syncs/${syncId}`)).body
      return s.status !== 'running' && s.status !== 'retrying' ? s : null
    }, 90_000)
    expect(sync.status).toBe('succeeded')
    const attempts = sync.manifest[0].attempts
    expect(attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'unknown', status: null }),
      expect.objectContaining({ attempt: 2, outcome: 'delivered', status: 200 }),
    ])
    expect(attempts.filter((x: { outcome: string }) => x.outcome === 'delivered')).toHaveLength(1)
    expect(await state()).toEqual({ state: 'delivered', attempt: 2 })
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM syncs WHERE job_id = $1 AND source_id = $2', [jobId, sink.id])
    expect(rows[0].n).toBe(1)
    // the receiver saw the request twice (at-least-once), with one webhook-id to drop the repeat by
    const posts = receiver.posts()
    expect(posts).toHaveLength(2)
    expect(posts[1].headers['webhook-id']).toBe(posts[0].headers['webhook-id'])
    // nothing more arrives later (the dead worker's pg-boss job finds the delivery finished): a
    // deliberate wait, longer than the pg-boss job's retry would take to come
    await new Promise(resolve => setTimeout(resolve, 6000))
    expect(receiver.posts()).toHaveLength(2)
  }, 240_000)

  it('streams a 200 MB result to S3 with flat memory', async () => {
    const db = await createPostgresDatabase()
    cleanups.push(db.drop)
    const s3 = await startS3rver({ buckets: ['big-results'] })
    cleanups.push(() => s3.close())
    // the V8 heap is capped below the result's size: a push that held the result whole would die of it,
    // whenever the garbage collector happens to run
    const ferry = await startFerry(db.url, { NODE_OPTIONS: '--max-old-space-size=192' })
    const { agentId, jobId } = await agentWithJob(ferry.base)

    // 1.05 million wide result rows (~218 MB of CSV), generated in the database: the job's results as if it had mapped them
    const rowsCount = Number(process.env.FERRY_TEST_PUSH_ROWS ?? 1_050_000)
    const t0 = Date.now()
    const pool = new pg.Pool({ connectionString: db.url, max: 1 })
    cleanups.push(() => pool.end())
    await pool.query('DELETE FROM job_results WHERE job_id = $1', [jobId])
    await pool.query(
      `INSERT INTO job_results (job_id, row_number, data)
       SELECT $1, i, jsonb_build_array('SKU-' || i, 'Product ' || i || ': ' || repeat('a long description, ', 8), i % 500, (i % 1000) / 10.0,
         'EUR', 'WH-' || (i % 7))
       FROM generate_series(1, $2::int) AS i`, [jobId, rowsCount])
    await pool.query('UPDATE mapping_jobs SET rows = $2 WHERE id = $1', [jobId, rowsCount])

    const secret = (await call(ferry.base, 'POST', '/api/v1/secrets', {
      name: 's3', type: 'aws', value: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    })).body
    const sink = (await call(ferry.base, 'POST', `/api/v1/agents/${agentId}/data-sources`, {
      name: 'big', role: 'RESULTS_SINK', type: 's3',
      config: { bucket: 'big-results', prefix: 'out/', region: 'us-east-1', secretRef: secret.id, endpoint: s3.endpoint, forcePathStyle: true },
    })).body
    expect(sink.id).toBeTruthy()

    const t1 = Date.now()
    const pid = ferry.child.pid!
    const baseline = await currentRss(pid)
    // reset the peak to the current size (Linux ≥ 4.0), so the peak below is the push's
    const resetPeak = await fs.writeFile(`/proc/${pid}/clear_refs`, '5').then(() => true, () => false)
    const requestsBefore = s3.requestCount()
    const pushed = await call(ferry.base, 'POST', `/api/v1/agents/${agentId}/data-sources/${sink.id}/push`, { jobId })
    expect(pushed.status).toBe(202)
    const sync = await until('the push', async () => {
      const s = (await call(ferry.base, 'GET', `/api/v1/agents/${agentId}/data-sources/${sink.id}/syncs/${pushed.body.syncId}`)).body
      return s.status !== 'running' && s.status !== 'retrying' ? s : null
    }, 170_000)
    const peak = await peakRss(pid)
    const t2 = Date.now()
    console.log(JSON.stringify({
      baselineMb: Math.round(baseline / 2 ** 20), peakMb: Math.round(peak / 2 ** 20), resetPeak, objectBytes: sync.manifest?.[0]?.size,
      generateMs: t1 - t0, pushMs: t2 - t1,
    }))
    expect(sync.status, JSON.stringify(sync.error)).toBe('succeeded')
    const key = `out/job-${jobId}.csv`
    expect(sync.manifest[0]).toMatchObject({ key, status: 'delivered', rowsAccepted: rowsCount })
    const head = await s3.client().send(new HeadObjectCommand({ Bucket: 'big-results', Key: key }))
    expect(head.ContentLength).toBe(sync.manifest[0].size)
    if (!process.env.FERRY_TEST_PUSH_ROWS) expect(head.ContentLength!).toBeGreaterThan(200 * 1024 * 1024)
    // multipart: one request per 8 MiB part (plus create and complete), not one PUT of the whole
    expect(s3.requestCount() - requestsBefore).toBeGreaterThanOrEqual(Math.floor(head.ContentLength! / (8 * 1024 * 1024)) + 2)
    // flat: the process grew by far less than the result it sent (measured: ~85 MB for a 50 MB
    // result, ~105 MB for 210 MB: the S3 part buffers and garbage not yet collected, not the result)
    // Asserted against the result itself (the process never held it whole) and a bound on the
    // whole serving process (API + workers + pg-boss; 270–316 MB measured, depending on when the
    // garbage collector runs on a loaded machine). The pull-side 300 MB target is benchmark 4.
    // On Node 24 the serving process idles larger than on Node 20 (baseline ~220 MB measured here; peak 348 MB
    // with the heap cap above, up to 454 MB without it on a loaded machine): the bound on the whole process is 450 MB.
    const grown = peak - (resetPeak ? baseline : 0)
    if (resetPeak) expect(peak).toBeLessThan(450 * 1024 * 1024)
    expect(grown).toBeLessThan(Math.min(head.ContentLength!, resetPeak ? 200 * 1024 * 1024 : 450 * 1024 * 1024))
  }, 300_000)
})
