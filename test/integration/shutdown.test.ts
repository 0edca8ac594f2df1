import { PutObjectCommand } from '@aws-sdk/client-s3'
import { createHmac, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDb } from '../../src/db/open.js'
import { backend, createPostgresDatabase } from '../helpers/db.js'
import { s3 as match, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { freePort, spawnFerry, waitForHttp, type FerryProcess } from '../helpers/process.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

/**
 * Issue #14 case 7: SIGTERM did not stop the process during a long inbound request or ingest
 * (alive after 20 s and 75 s; once 20+ minutes). The real server process, on both backends: SIGTERM
 * in the middle of slow uploads and of a pull's download ends it gracefully (exit code 0, not the
 * hard deadline's 1), the clients get 503 or a closed connection, and nothing of the cut-off files
 * is kept; a later pull takes the file once.
 */

const BUCKET = 'shutdown-inventory'
const KEY = 'fy_shutdown_test_admin_key_0123456789'
const MASTER_KEY = Buffer.alloc(32, 9).toString('base64')

const cleanups: Array<() => Promise<unknown>> = []
let store: S3rverHandle
let proxy: FaultProxy

beforeAll(async () => {
  store = await startS3rver({ buckets: [BUCKET] })
  proxy = await startFaultProxy(store.endpoint)
})
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {})
  await proxy?.close()
  await store?.close()
})

interface Instance { env: Record<string, string>, dataDir: string, tmpDir: string, base: string }

/** A data directory, a private TMPDIR (spool files land there) and, on PostgreSQL, a fresh database. */
async function newInstance (): Promise<Instance> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-stop-'))
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-stop-tmp-'))
  cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }), () => fs.rm(tmpDir, { recursive: true, force: true }))
  const port = await freePort()
  const env: Record<string, string> = {
    PORT: String(port),
    FERRY_DATA_DIR: dataDir,
    TMPDIR: tmpDir,
    FERRY_BOOTSTRAP_API_KEY: KEY,
    FERRY_MASTER_KEY: MASTER_KEY,
    FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
    // a stalled download must not time out on its own: only the shutdown may end it
    FERRY_TARGET_TIMEOUT_MS: '600000',
    FERRY_PULL_FILE_CONCURRENCY: '1',
    // generous, so a slow machine still shuts down gracefully; a hang would still be cut off (exit 1)
    FERRY_SHUTDOWN_GRACE_MS: '20000',
  }
  if (backend() === 'postgres') {
    const pg = await createPostgresDatabase()
    cleanups.push(pg.drop)
    env.DATABASE_URL = pg.url
  }
  return { env, dataDir, tmpDir, base: `http://127.0.0.1:${port}` }
}

async function start (instance: Instance): Promise<FerryProcess> {
  const p = spawnFerry(['serve'], instance.env)
  cleanups.push(async () => { p.child.kill('SIGKILL') })
  let alive = true
  p.exited.then(() => { alive = false })
  await waitForHttp(`${instance.base}/readyz`, 90_000, () => alive)
  return p
}

/** Runs `sql` against the instance's database; on PGlite only once its process has exited. */
async function query<T = Record<string, unknown>> (instance: Instance, sql: string, params: unknown[] = []): Promise<T[]> {
  const db = await openDb({ databaseUrl: instance.env.DATABASE_URL, dataDir: instance.dataDir })
  try {
    return (await db.query<T>(sql, params)).rows
  } finally {
    await db.close()
  }
}

async function api (instance: Instance, method: string, url: string, body?: unknown): Promise<{ status: number, json: any }> {
  const json = body !== undefined
  const res = await fetch(`${instance.base}${url}`, {
    method, headers: { authorization: `Bearer ${KEY}`, ...(json ? { 'content-type': 'application/json' } : {}) }, body: json ? JSON.stringify(body) : undefined,
  })
  return { status: res.status, json: await res.json().catch(() => null) }
}

/**
 * A POST whose body keeps trickling in (a chunk every 100 ms, never ending). Resolves with what the
 * client saw: the answer's status, or "closed" when the connection was cut without one.
 */
function trickle (url: string, headers: Record<string, string>, first: Buffer, next: (i: number) => Buffer): Promise<string> {
  return new Promise((resolve) => {
    let i = 0
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } })
    const timer = setInterval(() => { if (!req.destroyed) req.write(next(i++)) }, 100)
    const done = (outcome: string) => { clearInterval(timer); resolve(outcome) }
    req.on('response', (res) => { res.resume(); done(String(res.statusCode)) })
    req.on('error', () => done('closed'))
    req.on('close', () => done('closed'))
    req.write(first)
  })
}

const rows = (prefix: string, from: number, n: number) => Array.from({ length: n }, (_, k) => `${prefix}-${from + k},item ${from + k},${k}\n`).join('')
/** The inbound spool files of every process under `$FERRY_DATA_DIR/tmp/<pid>@<host>/` (src/inbound/spool.ts). */
const spoolFiles = async (dataDir: string) => {
  const entries = await fs.readdir(path.join(dataDir, 'tmp'), { recursive: true }).catch(() => [] as string[])
  return entries.filter(name => path.basename(name).startsWith('ferry-spool-'))
}

describe('SIGTERM', () => {
  it('during slow uploads that keep trickling in: the process exits gracefully, the clients get 503 or a closed connection, nothing is kept', async () => {
    const instance = await newInstance()
    const server = await start(instance)
    const agent = await api(instance, 'POST', '/api/v1/agents', { name: 'slow senders', rules: { autoPull: false } })
    expect(agent.status).toBe(201)
    const source = await api(instance, 'POST', `/api/v1/agents/${agent.json.id}/data-sources`,
      { name: 'inbound', role: 'INVENTORY_SOURCE', type: 'webhook', config: {} })
    expect(source.status).toBe(201)

    // an inbound webhook delivery (signed as the sender would; the body never ends, so never checked)
    const id = `msg_${randomBytes(8).toString('hex')}`
    const timestamp = String(Math.floor(Date.now() / 1000))
    const key = Buffer.from(source.json.signingSecret.replace(/^whsec_/, ''), 'base64')
    const signature = 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.`).digest('base64')
    const inbound = trickle(`${instance.base}/api/v1/inbound/${source.json.id}`,
      { 'content-type': 'text/csv', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature },
      Buffer.from('sku,name,quantity\n' + rows('IN', 0, 500)), i => Buffer.from(rows('IN', 500 + i, 1)))
    // a multipart upload through the API
    const boundary = `----ferry${randomBytes(8).toString('hex')}`
    const upload = trickle(`${instance.base}/api/v1/agents/${agent.json.id}/inventory/uploads`,
      { authorization: `Bearer ${KEY}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\n` +
        'Content-Type: text/csv\r\n\r\nsku,name,quantity\n' + rows('UP', 0, 500)),
      i => Buffer.from(rows('UP', 500 + i, 1)))

    // both are being read: the delivery is spooling to its temp file, the upload reached its handler
    await expect.poll(async () => (await spoolFiles(instance.dataDir)).length, { timeout: 30_000 }).toBe(1)
    await expect.poll(() => server.output().includes('/inventory/uploads'), { timeout: 30_000 }).toBe(true)

    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(['503', 'closed']).toContain(await inbound)
    expect(['503', 'closed']).toContain(await upload)
    expect(server.output()).not.toContain('overran')

    expect(await query(instance, 'SELECT id FROM inventory_uploads')).toEqual([])
    expect(await query(instance, 'SELECT id FROM syncs')).toEqual([])
    expect(await query(instance, 'SELECT webhook_id FROM inbound_deliveries')).toEqual([])
    expect(await spoolFiles(instance.dataDir)).toEqual([])
  }, 240_000)

  it('during a pull\'s long ingest of a large S3 file: the process exits gracefully, the file is rolled back, a later pull takes it once', async () => {
    const instance = await newInstance()
    const put = (key: string, body: string) => store.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))
    await put('pull/a-small.csv', 'sku,name,quantity\n' + rows('SM', 0, 3))
    await put('pull/b-big.csv', 'sku,name,quantity\n' + rows('BG', 0, 5000))
    // files in key order (one at a time): a-small.csv lands, then b-big.csv stalls after 32 KiB
    const stall = proxy.plan(match.getObject(BUCKET, 'pull/b-big.csv'), { kind: 'stall', afterBytes: 32 * 1024 })

    let server = await start(instance)
    const agent = await api(instance, 'POST', '/api/v1/agents', { name: 'big files', rules: { autoPull: false } })
    const secret = await api(instance, 'POST', '/api/v1/secrets',
      { name: 's3rver', type: 'aws', value: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } })
    const source = await api(instance, 'POST', `/api/v1/agents/${agent.json.id}/data-sources`, {
      name: 'bucket', role: 'INVENTORY_SOURCE', type: 's3',
      config: { bucket: BUCKET, prefix: 'pull/', region: 'us-east-1', secretRef: secret.json.id, endpoint: proxy.endpoint, forcePathStyle: true },
    })
    expect(source.status).toBe(201)
    const syncs = `/api/v1/agents/${agent.json.id}/data-sources/${source.json.id}/syncs`
    const pulled = await api(instance, 'POST', `/api/v1/agents/${agent.json.id}/data-sources/${source.json.id}/pull`)
    expect(pulled.status).toBe(202)
    await stall.reached()

    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(server.output()).not.toContain('overran')

    // nothing of the big file: no upload, no rows, no ledger row; its sync is closed, not left running
    const ledger = await query<{ key: string }>(instance, 'SELECT key FROM source_files ORDER BY key')
    expect(ledger.map(r => r.key)).toEqual(['pull/a-small.csv'])
    expect((await query<{ file_name: string }>(instance, 'SELECT file_name FROM inventory_uploads')).map(r => r.file_name)).toEqual(['a-small.csv'])
    const [cut] = await query<{ status: string, error: { code: string } }>(instance, 'SELECT status, error FROM syncs WHERE id = $1', [pulled.json.syncId])
    expect(cut).toMatchObject({ status: 'failed', error: { code: 'SHUTTING_DOWN' } })
    expect(await spoolFiles(instance.dataDir)).toEqual([])

    // the next process pulls it once
    proxy.clear()
    server = await start(instance)
    const again = await api(instance, 'POST', `/api/v1/agents/${agent.json.id}/data-sources/${source.json.id}/pull`)
    expect(again.status).toBe(202)
    const latest = async () => (await api(instance, 'GET', `${syncs}/${again.json.syncId}`)).json
    await expect.poll(async () => (await latest()).status, { timeout: 60_000, interval: 250 }).toBe('succeeded')
    const manifest: Array<{ key: string, status: string, rowsAccepted: number }> = (await latest()).manifest
    expect(manifest.map(e => [e.key, e.status, e.rowsAccepted])).toEqual([['pull/b-big.csv', 'ingested', 5000]])
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    const uploads = await query<{ file_name: string, rows: number }>(instance,
      `SELECT u.file_name, count(i.upload_seq)::int AS rows FROM inventory_uploads u LEFT JOIN inventory_items i ON i.upload_seq = u.seq
       GROUP BY u.id, u.file_name ORDER BY u.file_name`)
    expect(uploads).toEqual([{ file_name: 'a-small.csv', rows: 3 }, { file_name: 'b-big.csv', rows: 5000 }])
  }, 300_000)
})
