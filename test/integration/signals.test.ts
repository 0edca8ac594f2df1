import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sampleOps } from '../../src/metrics.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { startReceiver, type Receiver } from '../helpers/receiver.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'
import { until } from '../helpers/poll.js'

// Signals (docs/architecture.md "Signals"): a log line per finished pull and push (warn when it
// failed), and gauges for queue depth, retrying pushes and stale sources without per-source labels.

let t: TestApp
let s3: S3rverHandle
let receiver: Receiver
let agentId: string
let secretId: string
let jobId: string
const BUCKET = 'signals'

const base = () => `/api/v1/agents/${agentId}/data-sources`
const logLines = () => t.logs.map(l => JSON.parse(l) as Record<string, unknown> & { level: number, msg: string })

const createS3Source = async (name: string, bucket = BUCKET) => {
  const res = await t.api('POST', base(), {
    body: {
      name, role: 'INVENTORY_SOURCE', type: 's3', validate: false,
      config: { bucket, prefix: `${name}/`, region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
    },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id as string
}
const webhookSink = async (path: string) => {
  const res = await t.api('POST', base(), {
    body: { name: `hook ${path}`, role: 'RESULTS_SINK', type: 'webhook', config: { url: `${receiver.url}${path}` }, validate: false },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id as string
}
const push = async (sinkId: string) => {
  const res = await t.api('POST', `${base()}/${sinkId}/push`, { body: { jobId } })
  expect(res.statusCode, res.body).toBe(202)
  return res.json().syncId as string
}
const deliveryState = async (syncId: string) =>
  (await t.database.db.query<{ state: string }>('SELECT state FROM push_deliveries WHERE sync_id = $1', [syncId])).rows[0]?.state

beforeAll(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] })
  // a 503 waits 10 minutes for its retry: the push stays "retrying" for the whole test
  receiver = await startReceiver([], { status: 200 })
  t = await createTestApp({
    env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_TARGET_TIMEOUT_MS: '5000', FERRY_PUSH_RETRY_SCHEDULE_MS: '600000' },
  })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'signals', rules: { autoMap: false } } })).json().id
  secretId = (await t.api('POST', '/api/v1/secrets', {
    body: { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
  })).json().id
  const { payload, headers } = multipartFile('sku,quantity\nS1,1\nS2,2\nS3,3\n', { fileName: 'stock.csv' })
  const uploadId = (await t.app.inject({
    method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
  })).json().id
  const job = await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId } })
  jobId = job.json().id
  await until('the mapping job to succeed', async () => (await t.api('GET', `/api/v1/agents/${agentId}/jobs/${jobId}`)).json().status === 'succeeded')
})
afterAll(async () => {
  await t?.close()
  await receiver?.close()
  await s3?.close()
})

describe('log lines', () => {
  it('logs a finished pull at info with source, status, files, rows and duration; a failed one at warn', async () => {
    const sourceId = await createS3Source('ok')
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ok/a.csv', Body: 'sku,quantity\nA,1\nB,2\n,3\n' }))
    const ok = (await t.api('POST', `${base()}/${sourceId}/pull?wait=true`)).json()
    const line = logLines().find(l => l.msg === 'pull finished' && l.syncId === ok.id)
    expect(line).toMatchObject({ level: 30, sourceId, status: 'succeeded', trigger: 'manual', files: 1, rowsAccepted: 2, rowsRejected: 1 })
    expect(line!.durationMs).toEqual(expect.any(Number))

    const missing = await createS3Source('missing', 'no-such-bucket')
    const failed = (await t.api('POST', `${base()}/${missing}/pull?wait=true`)).json()
    expect(failed.status).toBe('failed')
    const warn = logLines().find(l => l.syncId === failed.id && /^pull (finished|failed)$/.test(l.msg))
    expect(warn).toMatchObject({ level: 40, msg: 'pull failed', sourceId: missing, status: 'failed', files: 0, code: failed.error.code })
  })

  it('logs a finished push at info and a failed one at warn', async () => {
    receiver.script([{ status: 200 }, { status: 400 }], { status: 200 })
    const okSink = await webhookSink('/ok')
    const okSync = await push(okSink)
    await expect.poll(() => deliveryState(okSync), { timeout: 30_000 }).toBe('delivered')
    await expect.poll(() => logLines().find(l => l.syncId === okSync && /^push (finished|failed)$/.test(l.msg)), { timeout: 10_000 })
      .toMatchObject({ level: 30, msg: 'push finished', sourceId: okSink, status: 'succeeded', jobId, files: 1, rowsAccepted: 3, attempts: 1 })

    const badSink = await webhookSink('/bad')
    const badSync = await push(badSink)
    await expect.poll(() => deliveryState(badSync), { timeout: 30_000 }).toBe('failed')
    await expect.poll(() => logLines().find(l => l.syncId === badSync && /^push (finished|failed)$/.test(l.msg)), { timeout: 10_000 })
      .toMatchObject({ level: 40, msg: 'push failed', sourceId: badSink, status: 'failed', files: 0, rowsAccepted: 0 })
  })
})

describe('/metrics', () => {
  it('shows queue depth per queue, retrying pushes and stale sources, without per-source labels', async () => {
    // a push that failed with a 503 waits for its next attempt (deferred in the push queue)
    receiver.script([{ status: 503 }], { status: 503 })
    const retrySink = await webhookSink('/retry')
    const retrySync = await push(retrySink)
    await expect.poll(() => deliveryState(retrySync), { timeout: 30_000 }).toBe('retrying')
    // a scheduled source (hourly, the agent's default) whose last success is three hours old, and a fresh one
    const stale = await createS3Source('stale')
    await createS3Source('fresh')
    await t.database.db.query("UPDATE data_sources SET last_synced_at = now() - interval '3 hours' WHERE id = $1", [stale])
    const scheduled = await t.database.db.query('SELECT id FROM data_sources WHERE agent_id = $1 AND next_pull_at IS NOT NULL', [agentId])
    expect(scheduled.rows.length).toBeGreaterThanOrEqual(2)
    // pg-boss's monitor refreshes the queue counts it reports (once a minute in the worker processes)
    await t.runtime.deps.boss.supervise()

    const res = await t.api('GET', '/metrics', { key: null })
    expect(res.statusCode).toBe(200)
    const value = (series: string) => {
      const line = res.body.split('\n').find(l => l.startsWith(`${series} `))
      expect(line, series).toBeDefined()
      return Number(line!.slice(series.length + 1))
    }
    expect(value('ferry_pushes_retrying')).toBe(1)
    expect(value('ferry_sources_stale')).toBe(1)
    expect(value('ferry_queue_jobs{queue="push-results",state="deferred"}')).toBeGreaterThanOrEqual(1)
    expect(value('ferry_queue_jobs{queue="push-results",state="queued"}')).toBeGreaterThanOrEqual(1)
    for (const queue of ['pull-source', 'map-upload', 'notify-channel']) {
      for (const state of ['queued', 'deferred', 'active']) expect(value(`ferry_queue_jobs{queue="${queue}",state="${state}"}`)).toBeGreaterThanOrEqual(0)
    }
    // no series names a source
    expect(res.body).not.toContain(stale)
    expect(res.body).not.toMatch(/source(_id|Id)="/)
    // five hours on (an injected clock), every hourly source has missed two runs
    const later = await sampleOps(t.database.db, t.runtime.deps.boss, new Date(Date.now() + 5 * 3600_000))
    expect(later.staleSources).toBe(scheduled.rows.length)
  })

  it('counts a weekday schedule as stale only after two missed weekday runs', async () => {
    const agent = (await t.api('POST', '/api/v1/agents', { body: { name: 'weekdays', scheduleCron: '0 9 * * 1-5', rules: { autoMap: false } } })).json()
    const res = await t.api('POST', `/api/v1/agents/${agent.id}/data-sources`, {
      body: {
        name: 'weekdays', role: 'INVENTORY_SOURCE', type: 's3', validate: false,
        config: { bucket: BUCKET, prefix: 'weekdays/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })
    expect(res.statusCode, res.body).toBe(201)
    // last success: Friday 27 November 2026, 09:00 (UTC); the clock is injected, every other source is younger than it
    await t.database.db.query("UPDATE data_sources SET last_synced_at = '2026-11-27T09:00:05Z', created_at = '2026-11-01T00:00:00Z' WHERE id = $1",
      [res.json().id])
    const at = async (iso: string) => (await sampleOps(t.database.db, t.runtime.deps.boss, new Date(iso))).staleSources
    // Monday 10:00, the Monday run failed: one missed run (three days after the last success, yet not stale)
    expect(await at('2026-11-30T10:00:00Z')).toBe(0)
    // Tuesday 10:00: Monday's and Tuesday's runs both passed without success
    expect(await at('2026-12-01T10:00:00Z')).toBe(1)
  })
})
