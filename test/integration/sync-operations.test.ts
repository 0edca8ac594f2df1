import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { s3 as match, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js'
import { multipartFile } from '../helpers/multipart.js'
import { startReceiver, type Receiver, type ReceiverStep } from '../helpers/receiver.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'
import { until } from '../helpers/poll.js'

/**
 * Operating a source day to day (docs/reliability.md, "Operating a source"): the sync history a
 * page at a time, reset (backfill), cancel of a pull and of a push, "Retry now", empty results.
 */

let t: TestApp
let s3: S3rverHandle
let proxy: FaultProxy
let agentId: string
let secretId: string
const BUCKET = 'ops-bucket'
const receivers: Receiver[] = []

const put = (key: string, body: string) => s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))
const rows = (prefix: string, from: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${from + i},item ${from + i},${i % 7}\n`).join('')
const base = (sid: string) => `/api/v1/agents/${agentId}/data-sources/${sid}`

beforeAll(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] })
  proxy = await startFaultProxy(s3.endpoint)
  t = await createTestApp({
    env: {
      FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
      // one file at a time, in key order: the files before the stalled one have committed when it stalls
      FERRY_PULL_FILE_CONCURRENCY: '1',
      // a stalled download must end because of the cancel, not a timeout
      FERRY_TARGET_TIMEOUT_MS: '120000',
      FERRY_PUSH_RETRY_SCHEDULE_MS: '50,50,50',
    },
  })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'operations', rules: { autoPull: false, autoMap: false } } })).json().id
  const value = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
  const secret = await t.api('POST', '/api/v1/secrets', { body: { name: 's3rver', type: 'aws', value } })
  secretId = secret.json().id
})
afterEach(async () => {
  proxy.clear()
  for (const r of receivers.splice(0)) await r.close()
})
afterAll(async () => {
  await t?.close()
  await proxy?.close()
  await s3?.close()
})

const s3Source = async (prefix: string) => {
  const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
    body: {
      name: `bucket ${prefix}`, role: 'INVENTORY_SOURCE', type: 's3',
      config: { bucket: BUCKET, prefix, region: 'us-east-1', secretRef: secretId, endpoint: proxy.endpoint, forcePathStyle: true },
    },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id as string
}

const pullAndWait = async (sid: string) => {
  const res = await t.api('POST', `${base(sid)}/pull?wait=true`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}

const auditOf = async (resourceId: string) =>
  (await t.api('GET', `/api/v1/audit-log?resourceId=${resourceId}`)).json().items as Array<{ action: string, changes?: Record<string, { after?: unknown }> }>

describe('sync history', () => {
  it('pages with an opaque cursor, newest first, filtered by status and trigger', async () => {
    const sid = await s3Source('history/')
    // 45 syncs of every status and trigger, written directly (a real pull each would take minutes)
    const statuses = ['succeeded', 'partial', 'failed', 'cancelled', 'succeeded']
    const triggers = ['schedule', 'manual', 'schedule']
    for (let i = 0; i < 45; i++) {
      await t.database.db.query(
        `INSERT INTO syncs (id, org_id, source_id, direction, trigger, status, finished_at)
         SELECT gen_random_uuid(), org_id, id, 'inbound', $2, $3, now() FROM data_sources WHERE id = $1`, [sid, triggers[i % 3], statuses[i % 5]])
    }
    // UUIDv7-ordered ids are what the API pages by: the inserted ids are random, so order them by id as the API does
    const { rows: all } = await t.database.db.query<{ id: string, status: string, trigger: string }>(
      'SELECT id, status, trigger FROM syncs WHERE source_id = $1 ORDER BY id DESC', [sid])

    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await t.api('GET', `${base(sid)}/syncs?limit=20${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode, res.body).toBe(200)
      const body = res.json()
      seen.push(...body.items.map((s: { id: string }) => s.id))
      expect(body.items.every((s: Record<string, unknown>) => !('manifest' in s))).toBe(true)
      cursor = body.nextCursor
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen).toEqual(all.map(r => r.id))

    // the default page is 20
    expect((await t.api('GET', `${base(sid)}/syncs`)).json().items).toHaveLength(20)

    const failedSchedule = await t.api('GET', `${base(sid)}/syncs?status=failed&trigger=schedule&limit=200`)
    expect(failedSchedule.json().items.map((s: { id: string }) => s.id))
      .toEqual(all.filter(r => r.status === 'failed' && r.trigger === 'schedule').map(r => r.id))
    expect(failedSchedule.json().nextCursor).toBeNull()
    const cancelled = (await t.api('GET', `${base(sid)}/syncs?status=cancelled&limit=5`)).json()
    expect(cancelled.items).toHaveLength(5)
    expect(cancelled.items.every((s: { status: string }) => s.status === 'cancelled')).toBe(true)
    const rest = (await t.api('GET', `${base(sid)}/syncs?status=cancelled&limit=5&cursor=${cancelled.nextCursor}`)).json()
    expect([...cancelled.items, ...rest.items].map((s: { id: string }) => s.id)).toEqual(all.filter(r => r.status === 'cancelled').map(r => r.id))

    expect((await t.api('GET', `${base(sid)}/syncs?limit=201`)).statusCode).toBe(400)
    expect((await t.api('GET', `${base(sid)}/syncs?cursor=not-a-cursor`)).json()).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'cursor' } })
    expect((await t.api('GET', `${base(sid)}/syncs?status=done`)).statusCode).toBe(400)
  })
})

describe('reset (backfill)', () => {
  it('forgets the ledger, all or since a date, so the next pull ingests the files again; audited; sinks refuse', async () => {
    const sid = await s3Source('reset/')
    await put('reset/a.csv', 'sku,name,quantity\n' + rows('RA', 0, 3))
    await put('reset/b.csv', 'sku,name,quantity\n' + rows('RB', 0, 2))
    const first = await pullAndWait(sid)
    expect(first).toMatchObject({ status: 'succeeded', filesCount: 2, rowsAccepted: 5 })
    expect(await pullAndWait(sid)).toMatchObject({ status: 'succeeded', filesCount: 0 })

    // files last modified at/after a future date: none
    const future = await t.api('POST', `${base(sid)}/reset`, { body: { since: new Date(Date.now() + 3600_000).toISOString() } })
    expect(future.statusCode, future.body).toBe(200)
    expect(future.json()).toEqual({ forgotten: 0 })
    expect(await pullAndWait(sid)).toMatchObject({ filesCount: 0 })

    // since yesterday (a plain date): both
    const yesterday = new Date(Date.now() - 86400_000).toISOString().slice(0, 10)
    expect((await t.api('POST', `${base(sid)}/reset`, { body: { since: yesterday } })).json()).toEqual({ forgotten: 2 })
    const again = await pullAndWait(sid)
    expect(again).toMatchObject({ status: 'succeeded', filesCount: 2, rowsAccepted: 5 })
    expect((await t.api('GET', `${base(sid)}/syncs/${again.id}`)).json().manifest.map((e: { key: string, status: string }) => [e.key, e.status]))
      .toEqual([['reset/a.csv', 'ingested'], ['reset/b.csv', 'ingested']])

    // all
    expect((await t.api('POST', `${base(sid)}/reset`, { body: {} })).json()).toEqual({ forgotten: 2 })
    expect(await pullAndWait(sid)).toMatchObject({ filesCount: 2 })

    const audit = await auditOf(sid)
    expect(audit.filter(e => e.action === 'reset').map(e => e.changes?.ledger?.after)).toEqual(expect.arrayContaining([
      { forgotten: 0, since: expect.any(String) }, { forgotten: 2, since: `${yesterday}T00:00:00.000Z` }, { forgotten: 2, since: null },
    ]))

    expect((await t.api('POST', `${base(sid)}/reset`, { body: { since: 'yesterday' } })).statusCode).toBe(400)
    const sink = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'sink', role: 'RESULTS_SINK', type: 'webhook', config: { url: 'http://127.0.0.1:9/x' }, validate: false },
    })
    expect((await t.api('POST', `${base(sink.json().id)}/reset`, { body: {} })).statusCode).toBe(409)
  })
})

describe('cancel a pull', () => {
  it('stops at the file boundary: committed files stay, nothing of the file in flight, the sync ends cancelled', async () => {
    const sid = await s3Source('cancel/')
    await put('cancel/a.csv', 'sku,name,quantity\n' + rows('CA', 0, 3))
    await put('cancel/b.csv', 'sku,name,quantity\n' + rows('CB', 0, 4))
    await put('cancel/c-big.csv', 'sku,name,quantity\n' + rows('CC', 0, 20_000))
    await put('cancel/d.csv', 'sku,name,quantity\n' + rows('CD', 0, 2))
    // a.csv and b.csv land, then c-big.csv stalls after its first 32 KiB (of ~400 KiB)
    const stall = proxy.plan(match.getObject(BUCKET, 'cancel/c-big.csv'), { kind: 'stall', afterBytes: 32 * 1024 })

    const started = await t.api('POST', `${base(sid)}/pull`)
    expect(started.statusCode, started.body).toBe(202)
    const syncId = started.json().syncId
    await stall.reached()

    const cancelled = await t.api('POST', `${base(sid)}/syncs/${syncId}/cancel`)
    expect(cancelled.statusCode, cancelled.body).toBe(200)
    expect(cancelled.json()).toMatchObject({ id: syncId, status: 'cancelled', filesCount: 2, rowsAccepted: 7, error: { code: 'SYNC_CANCELLED' } })
    expect(cancelled.json().manifest.map((e: { key: string, status: string }) => [e.key, e.status]))
      .toEqual([['cancel/a.csv', 'ingested'], ['cancel/b.csv', 'ingested']])

    // the pull lets go of the source once its download was stopped
    await expect.poll(async () => (await t.database.db.query('SELECT lease_token FROM data_sources WHERE id = $1', [sid])).rows[0].lease_token,
      { timeout: 30_000, interval: 100 }).toBeNull()
    const { rows: ledger } = await t.database.db.query<{ key: string }>('SELECT key FROM source_files WHERE source_id = $1 ORDER BY key', [sid])
    expect(ledger.map(r => r.key)).toEqual(['cancel/a.csv', 'cancel/b.csv'])
    const { rows: uploads } = await t.database.db.query<{ file_name: string }>(
      'SELECT file_name FROM inventory_uploads WHERE source_id = $1 ORDER BY file_name', [sid])
    expect(uploads.map(r => r.file_name)).toEqual(['a.csv', 'b.csv'])
    // nothing was appended after the close: the sync reads as it was cancelled
    const after = (await t.api('GET', `${base(sid)}/syncs/${syncId}`)).json()
    expect(after).toMatchObject({ status: 'cancelled', filesCount: 2 })
    expect(after.manifest).toHaveLength(2)
    expect((await t.database.db.query('SELECT count(*)::int AS n FROM sync_manifest_entries WHERE sync_id = $1', [syncId])).rows[0].n).toBe(0)

    const twice = await t.api('POST', `${base(sid)}/syncs/${syncId}/cancel`)
    expect(twice.statusCode).toBe(409)
    expect(twice.json()).toMatchObject({ code: 'SYNC_FINISHED', details: { status: 'cancelled' } })
    expect((await auditOf(sid)).filter(e => e.action === 'cancel').map(e => e.changes?.syncId?.after)).toEqual([syncId])

    // the next pull takes the rest, each file once
    proxy.clear()
    const next = await pullAndWait(sid)
    expect(next).toMatchObject({ status: 'succeeded', filesCount: 2, rowsAccepted: 20_002 })
  })

  it('a pull cancelled while its job waits in the queue never runs', async () => {
    const sid = await s3Source('queued/')
    await put('queued/a.csv', 'sku,name,quantity\n' + rows('QA', 0, 3))
    // the lease is held by "another pull", so the requested one waits
    await t.database.db.query(`UPDATE data_sources SET lease_token = gen_random_uuid(), lease_expires_at = now() + interval '10 minutes' WHERE id = $1`, [sid])
    const started = await t.api('POST', `${base(sid)}/pull`)
    expect(started.statusCode).toBe(202)
    const syncId = started.json().syncId
    expect((await t.api('POST', `${base(sid)}/syncs/${syncId}/cancel`)).json()).toMatchObject({ status: 'cancelled', filesCount: 0 })
    await t.database.db.query('UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1', [sid])
    // a later pull takes the file: the cancelled one did not
    const later = await pullAndWait(sid)
    expect(later).toMatchObject({ status: 'succeeded', filesCount: 1 })
    const { rows: syncs } = await t.database.db.query<{ id: string, status: string }>('SELECT id, status FROM syncs WHERE source_id = $1 ORDER BY id', [sid])
    expect(syncs.map(s => s.status)).toEqual(['cancelled', 'succeeded'])
  })
})

describe('pushes: retrying, Retry now, cancel, empty results', () => {
  let jobId: string
  let emptyJobId: string

  const mappedJob = async (csv: string) => {
    const { payload, headers } = multipartFile(csv, { fileName: 'stock.csv' })
    const up = await t.app.inject({
      method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
    })
    expect(up.statusCode, up.body).toBe(201)
    const queued = (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.json().id } })).json()
    // (a hook: expect.poll is for tests only)
    const job = await until(`job ${queued.id} to finish`, async () => {
      const current = (await t.api('GET', `/api/v1/agents/${agentId}/jobs/${queued.id}`)).json()
      return current.status !== 'queued' && current.status !== 'running' && current
    }, 30_000, 50)
    expect(job.status).toBe('succeeded')
    return job.id as string
  }

  beforeAll(async () => {
    jobId = await mappedJob('sku,name,quantity\nP-1,Widget,2\n')
    // every row rejected (no sku): the job succeeds with 0 result rows
    emptyJobId = await mappedJob('sku,name,quantity\n,nameless,1\n')
  })

  const receiver = async (steps: ReceiverStep[], fallback?: ReceiverStep) => {
    const r = await startReceiver(steps, fallback)
    receivers.push(r)
    return r
  }
  const sinkFor = async (url: string, extra: Record<string, unknown> = {}) => {
    const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: `hook ${url} ${Math.random()}`, role: 'RESULTS_SINK', type: 'webhook', config: { url, ...extra }, validate: false },
    })
    expect(res.statusCode, res.body).toBe(201)
    return res.json().id as string
  }
  const startPush = async (sid: string, job = jobId) => {
    const res = await t.api('POST', `${base(sid)}/push`, { body: { jobId: job } })
    expect(res.statusCode, res.body).toBe(202)
    return res.json().syncId as string
  }
  const syncOf = async (sid: string, syncId: string) => (await t.api('GET', `${base(sid)}/syncs/${syncId}`)).json()

  it('a failing push shows retrying with attempt and nextAttemptAt; Retry now sends at once', async () => {
    // the receiver asks for an hour's pause: without "Retry now" the second attempt would be an hour away
    const r = await receiver([{ status: 503, headers: { 'retry-after': '3600' } }], { status: 200 })
    const sid = await sinkFor(`${r.url}/in`)
    const syncId = await startPush(sid)
    await expect.poll(async () => (await syncOf(sid, syncId)).status, { timeout: 30_000, interval: 50 }).toBe('retrying')
    const waiting = await syncOf(sid, syncId)
    expect(waiting).toMatchObject({ status: 'retrying', attempt: 1 })
    expect(Date.parse(waiting.nextAttemptAt) - Date.now()).toBeGreaterThan(50 * 60_000)
    expect(waiting.manifest[0]).toMatchObject({ state: 'retrying', nextAttemptAt: waiting.nextAttemptAt })
    // the history shows and filters it the same way
    const listed = (await t.api('GET', `${base(sid)}/syncs?status=retrying`)).json().items
    expect(listed).toEqual([expect.objectContaining({ id: syncId, status: 'retrying', attempt: 1, nextAttemptAt: waiting.nextAttemptAt })])
    expect((await t.api('GET', `${base(sid)}/syncs?status=running`)).json().items).toEqual([])
    expect((await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sid}`)).json().lastSync).toMatchObject({ id: syncId, status: 'retrying' })

    const retried = await t.api('POST', `${base(sid)}/syncs/${syncId}/retry`)
    expect(retried.statusCode, retried.body).toBe(202)
    await r.waitForPosts(2)
    await expect.poll(async () => (await syncOf(sid, syncId)).status, { timeout: 30_000, interval: 50 }).toBe('succeeded')
    const done = await syncOf(sid, syncId)
    expect(done.manifest[0].attempts.map((a: { status: number }) => a.status)).toEqual([503, 200])
    expect(r.posts()).toHaveLength(2)
    expect(r.posts()[0].headers['webhook-id']).toBe(r.posts()[1].headers['webhook-id'])

    const again = await t.api('POST', `${base(sid)}/syncs/${syncId}/retry`)
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: 'PUSH_NOT_WAITING', details: { state: 'delivered' } })
    expect((await auditOf(sid)).filter(e => e.action === 'retry').map(e => e.changes?.syncId?.after)).toEqual([syncId])
  })

  it('cancelling a retrying push stops its retries; the sync ends cancelled', async () => {
    const r = await receiver([{ status: 503, headers: { 'retry-after': '1' } }], { status: 200 })
    const sid = await sinkFor(`${r.url}/in`)
    // the first attempt fails; the retry is due in a second
    const syncId = await startPush(sid)
    await expect.poll(async () => (await syncOf(sid, syncId)).status, { timeout: 30_000, interval: 20 }).toBe('retrying')
    const cancelled = await t.api('POST', `${base(sid)}/syncs/${syncId}/cancel`)
    expect(cancelled.statusCode, cancelled.body).toBe(200)
    expect(cancelled.json()).toMatchObject({ status: 'cancelled', error: { code: 'SYNC_CANCELLED' } })
    expect(cancelled.json().manifest[0]).toMatchObject({ state: 'cancelled', nextAttemptAt: null })
    // no attempt is queued any more, and the delivery can no longer be claimed
    const { rows: jobs } = await t.database.db.query(
      `SELECT state FROM pgboss.job WHERE name = 'push-results' AND singleton_key = $1 AND state IN ('created', 'retry')`, [syncId])
    expect(jobs).toEqual([])
    expect((await t.database.db.query('SELECT state FROM push_deliveries WHERE sync_id = $1', [syncId])).rows[0].state).toBe('cancelled')
    expect(r.posts()).toHaveLength(1)
    expect((await t.api('POST', `${base(sid)}/syncs/${syncId}/retry`)).json()).toMatchObject({ code: 'PUSH_NOT_WAITING' })
    expect((await t.api('POST', `${base(sid)}/syncs/${syncId}/cancel`)).json()).toMatchObject({ code: 'SYNC_FINISHED' })
    // a new push of the same job is possible again
    const next = await startPush(sid)
    await expect.poll(async () => (await syncOf(sid, next)).status, { timeout: 30_000, interval: 50 }).toBe('succeeded')
  })

  it('empty results are not pushed unless the sink says pushEmpty', async () => {
    const r = await receiver([], { status: 200 })
    const quiet = await sinkFor(`${r.url}/quiet`)
    const syncId = await startPush(quiet, emptyJobId)
    const skipped = await syncOf(quiet, syncId)
    expect(skipped).toMatchObject({ status: 'succeeded', filesCount: 0, rowsAccepted: 0 })
    expect(skipped.manifest).toEqual([expect.objectContaining({ status: 'skipped', code: 'EMPTY_RESULTS', reason: expect.stringMatching(/pushEmpty/) })])

    const loud = await sinkFor(`${r.url}/loud`, { pushEmpty: true })
    const pushed = await startPush(loud, emptyJobId)
    await expect.poll(async () => (await syncOf(loud, pushed)).status, { timeout: 30_000, interval: 50 }).toBe('succeeded')
    expect(r.posts().map(p => [p.url, JSON.parse(p.body.toString())])).toEqual([['/loud', []]])
  })
})
