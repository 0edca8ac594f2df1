import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { freePort } from '../helpers/process.js'
import { startReceiver, type Receiver, type ReceiverStep } from '../helpers/receiver.js'
import { until } from '../helpers/poll.js'

let t: TestApp
let agentId: string
let jobId: string
const receivers: Receiver[] = []
const HEADER_CANARY = 'Bearer canary-header-value-7f3a9c'

beforeAll(async () => {
  t = await createTestApp({
    env: {
      FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
      FERRY_PUSH_RETRY_SCHEDULE_MS: '50,50,50',
      FERRY_TARGET_TIMEOUT_MS: '1500',
      FERRY_WEBHOOK_INLINE_MAX_BYTES: '4096',
    },
  })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'webhooks', rules: { autoMap: false } } })).json().id
  jobId = await mappedJob(agentId, 'sku,name,quantity\nW-1,Widget,2\nW-2,Gadget,\n')
})
afterEach(async () => { for (const r of receivers.splice(0)) await r.close() })
afterAll(async () => { await t?.close() })

async function mappedJob (agent: string, csv: string): Promise<string> {
  const { payload, headers } = multipartFile(csv, { fileName: 'stock.csv' })
  const up = await t.app.inject({
    method: 'POST', url: `/api/v1/agents/${agent}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
  })
  expect(up.statusCode, up.body).toBe(201)
  const queued = (await t.api('POST', `/api/v1/agents/${agent}/jobs`, { body: { uploadId: up.json().id } })).json()
  const job = await until(`job ${queued.id} to finish`, async () => {
    const current = (await t.api('GET', `/api/v1/agents/${agent}/jobs/${queued.id}`)).json()
    return current.status !== 'queued' && current.status !== 'running' && current
  }, 30_000, 50)
  expect(job.status).toBe('succeeded')
  return job.id
}

const receiver = async (steps: ReceiverStep[], fallback?: ReceiverStep) => {
  const r = await startReceiver(steps, fallback)
  receivers.push(r)
  return r
}

let secrets = 0
const signingSecret = async () => {
  const res = await t.api('POST', '/api/v1/secrets', { body: { name: `push signing ${++secrets}`, type: 'webhook' } })
  expect(res.statusCode, res.body).toBe(201)
  return { id: res.json().id as string, secret: res.json().signingSecret as string }
}

const webhookSink = async (url: string, extra: Record<string, unknown> = {}, agent = agentId) => {
  const res = await t.api('POST', `/api/v1/agents/${agent}/data-sources`, {
    body: { name: `hook ${url}`, role: 'RESULTS_SINK', type: 'webhook', config: { url, ...extra }, validate: false },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as { id: string }
}

const sinkUrl = (sinkId: string, agent = agentId) => `/api/v1/agents/${agent}/data-sources/${sinkId}`

/** Pushes by hand and returns the sync once it is no longer running. */
const push = async (sinkId: string, job = jobId, agent = agentId) => {
  const res = await t.api('POST', `${sinkUrl(sinkId, agent)}/push`, { body: { jobId: job } })
  expect(res.statusCode, res.body).toBe(202)
  return finishedSync(sinkId, res.json().syncId, agent)
}

const finishedSync = (sinkId: string, syncId: string, agent = agentId) => until(`sync ${syncId} to finish`, async () => {
  const sync = (await t.api('GET', `${sinkUrl(sinkId, agent)}/syncs/${syncId}`)).json()
  // a push waiting for its next attempt shows as retrying: not finished either
  return sync.status !== 'running' && sync.status !== 'retrying' && sync
}, 30_000, 50)

const openItems = async (agent = agentId) =>
  (await t.api('GET', `/api/v1/agents/${agent}/pending-items?status=open`)).json().items as
    Array<{ sourceId: string, type: string, message: string, occurrences: number }>

describe('pushing results to webhook sinks', () => {
  it('signs per Standard Webhooks: the receiver verifies with standardwebhooks; headers, body and secrets', async () => {
    const r = await receiver([{ status: 200, echoHeaders: true }])
    const { id: secretRef, secret } = await signingSecret()
    const header = await t.api('POST', '/api/v1/secrets', {
      body: { name: 'bearer', type: 'http_header', value: { name: 'Authorization', value: HEADER_CANARY } },
    })
    const sink = await webhookSink(`${r.url}/ferry/results`, { secretRef, headerSecretRef: header.json().id })

    const sync = await push(sink.id)
    expect(sync).toMatchObject({ direction: 'outbound', trigger: 'manual', status: 'succeeded', filesCount: 1, rowsAccepted: 2 })
    const [req] = r.posts()
    expect(r.posts()).toHaveLength(1)
    expect(req.url).toBe('/ferry/results')
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(req.headers.authorization).toBe(HEADER_CANARY)
    expect(req.headers['webhook-id']).toMatch(/^msg_[A-Za-z0-9_-]+$/)
    expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60)
    expect(req.headers['webhook-signature']).toMatch(/^v1,/)
    // the receiver's side: verification with the reference library, over the raw body
    const payload = new Webhook(secret).verify(req.body, req.headers as Record<string, string>)
    expect(payload).toEqual([
      { sku: 'W-1', name: 'Widget', quantity: 2, price: null, currency: null, location: null },
      { sku: 'W-2', name: 'Gadget', quantity: null, price: null, currency: null, location: null },
    ])
    // a wrong secret does not verify
    expect(() => new Webhook(Buffer.alloc(32, 1).toString('base64')).verify(req.body, req.headers as Record<string, string>)).toThrow()

    const entry = sync.manifest[0]
    expect(entry).toMatchObject({
      key: `${r.url}/ferry/results`, status: 'delivered', state: 'delivered', format: 'json', webhookId: req.headers['webhook-id'], size: req.body.length,
    })
    expect(entry.attempts).toEqual([expect.objectContaining({ attempt: 1, status: 200, outcome: 'delivered' })])
    // the receiver echoed every header: of its answer only type and length are kept, never the body
    expect(entry.attempts[0]).toMatchObject({ contentType: 'text/plain', contentLength: expect.any(Number) })
    expect(entry.attempts[0]).not.toHaveProperty('bodyExcerpt')
    const visible = JSON.stringify((await t.api('GET', `${sinkUrl(sink.id)}/syncs/${sync.id}`)).json())
    expect(visible).not.toContain('canary-header')
    expect(visible).not.toContain(secret.slice(6, 20))
    expect(visible).not.toContain('webhook-signature')
    expect(t.logs.join('')).not.toContain('canary-header')
    expect(t.logs.join('')).not.toContain(secret.slice(6, 20))

    // the same (job, sink) keeps its webhook-id on a repeated push; another sink gets its own
    r.script([{ status: 204 }])
    await push(sink.id)
    expect(r.posts()[1].headers['webhook-id']).toBe(req.headers['webhook-id'])
    const other = await webhookSink(`${r.url}/other`, { secretRef })
    await push(other.id)
    expect(r.posts()[2].headers['webhook-id']).not.toBe(req.headers['webhook-id'])
  })

  it('retries 500 → 500 → 200 on the schedule and records one delivery, same webhook-id every time', async () => {
    const r = await receiver([{ status: 500, body: 'boom' }, { status: 503 }, { status: 200 }])
    const { id: secretRef, secret } = await signingSecret()
    const sink = await webhookSink(r.url, { secretRef, format: 'ndjson' })
    const sync = await push(sink.id)
    expect(sync.status).toBe('succeeded')
    const posts = r.posts()
    expect(posts).toHaveLength(3)
    expect(new Set(posts.map(p => p.headers['webhook-id'])).size).toBe(1)
    for (const p of posts) expect(() => new Webhook(secret).verify(p.body, p.headers as Record<string, string>, { jsonParse: false })).not.toThrow()
    expect(posts[0].headers['content-type']).toBe('application/x-ndjson; charset=utf-8')

    const attempts = sync.manifest[0].attempts
    expect(attempts.map((a: { status: number, outcome: string }) => [a.status, a.outcome])).toEqual([[500, 'retrying'], [503, 'retrying'], [200, 'delivered']])
    // the answer's status, type and length, never its body (docs/security.md)
    expect(attempts[0]).toMatchObject({ contentType: 'text/plain', contentLength: 4 })
    expect(JSON.stringify(sync)).not.toContain('boom')
    expect(attempts[0].nextAttemptAt).toBeTruthy()
    expect(attempts.filter((a: { outcome: string }) => a.outcome === 'delivered')).toHaveLength(1)
    expect(sync.manifest[0]).toMatchObject({ status: 'delivered', nextAttemptAt: null })
    const { rows } = await t.database.db.query<{ state: string, attempt: number }>('SELECT state, attempt FROM push_deliveries WHERE sync_id = $1', [sync.id])
    expect(rows).toEqual([{ state: 'delivered', attempt: 3 }])
    // the retries are pg-boss jobs with startAfter = the recorded next attempt, not a sleeping worker
    // (compared by value: with full jitter a delay may be ~0 ms, so start_after > created_on is not guaranteed)
    const { rows: queued } = await t.database.db.query<{ start_after: Date | string }>(
      `SELECT start_after FROM pgboss.job WHERE name = 'push-results' AND data->>'syncId' = $1`, [sync.id])
    expect(queued.length).toBeGreaterThanOrEqual(3)
    const startAfters = queued.map(q => new Date(q.start_after).getTime())
    for (const a of attempts.slice(0, 2)) expect(startAfters).toContain(new Date(a.nextAttemptAt).getTime())
  })

  it('honours Retry-After on 429 (the next attempt waits at least that long)', async () => {
    const r = await receiver([{ status: 429, headers: { 'retry-after': '2' } }, { status: 200 }])
    const sink = await webhookSink(r.url)
    const started = await t.api('POST', `${sinkUrl(sink.id)}/push`, { body: { jobId } })
    const syncId = started.json().syncId
    // while waiting, the sync shows when the next attempt is due
    await r.waitForPosts(1)
    const waiting = await until('the first attempt in the manifest', async () => {
      const sync = (await t.api('GET', `${sinkUrl(sink.id)}/syncs/${syncId}`)).json()
      return sync.manifest.length > 0 && sync
    }, 30_000, 20)
    expect(waiting).toMatchObject({ status: 'retrying', attempt: 1, nextAttemptAt: waiting.manifest[0].nextAttemptAt })
    expect(waiting.manifest[0]).toMatchObject({ state: 'retrying', status: 'failed' })
    const first = waiting.manifest[0].attempts[0]
    expect(first).toMatchObject({ status: 429, retryAfterMs: 2000, outcome: 'retrying' })
    expect(Date.parse(waiting.manifest[0].nextAttemptAt) - Date.parse(first.at)).toBeGreaterThanOrEqual(2000)

    const sync = await finishedSync(sink.id, syncId)
    expect(sync.status).toBe('succeeded')
    const [a, b] = r.posts()
    expect(b.at - a.at).toBeGreaterThanOrEqual(2000)
  })

  it('does not follow a 302: the redirect target sees nothing, the push fails at once', async () => {
    const elsewhere = await receiver([])
    const r = await receiver([{ status: 302, headers: { location: `${elsewhere.url}/stolen` } }])
    const sink = await webhookSink(r.url)
    const sync = await push(sink.id)
    expect(sync.status).toBe('failed')
    expect(sync.error.message).toMatch(/302.*redirect/)
    expect(sync.manifest[0].attempts).toHaveLength(1)
    expect(r.posts()).toHaveLength(1)
    expect(elsewhere.requests).toHaveLength(0)
  })

  it('fails a 400 at once with one attempt, and files no item for a manual push', async () => {
    const r = await receiver([{ status: 400, body: 'bad payload' }], { status: 200 })
    const sink = await webhookSink(r.url)
    const sync = await push(sink.id)
    expect(sync).toMatchObject({ status: 'failed', error: { code: 'DELIVERY_FAILED' } })
    expect(sync.manifest[0]).toMatchObject({ state: 'failed', status: 'failed' })
    expect(sync.manifest[0].attempts).toEqual([
      expect.objectContaining({ attempt: 1, status: 400, outcome: 'failed', contentType: 'text/plain', contentLength: 11 }),
    ])
    expect(JSON.stringify(sync)).not.toContain('bad payload')
    // a deliberate wait: no retry may come after a 4xx
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(r.posts()).toHaveLength(1)
    expect((await openItems()).filter(i => i.sourceId === sink.id)).toEqual([])
  })

  it('a header secret cannot replace one of Ferry\'s own headers', async () => {
    for (const name of ['Webhook-Signature', 'webhook-id', 'Content-Type', 'Host']) {
      const res = await t.api('POST', '/api/v1/secrets', {
        body: { name: `sneaky ${name}`, type: 'http_header', value: { name, value: 'v1,forged-signature-value' } },
      })
      expect(res.statusCode, name).toBe(400)
      expect(res.json().details.field).toBe('value.name')
    }
  })

  it('disables the sink on 410 Gone and files a pending item', async () => {
    const r = await receiver([{ status: 410 }])
    const sink = await webhookSink(r.url)
    expect((await t.api('POST', `${sinkUrl(sink.id)}/test`)).json().ok).toBe(true)
    expect((await t.api('PATCH', sinkUrl(sink.id), { body: { autoPush: true } })).json().autoPush).toBe(true)
    const sync = await push(sink.id)
    expect(sync.status).toBe('failed')
    expect(sync.manifest[0]).toMatchObject({ state: 'disabled' })
    expect(sync.error.message).toMatch(/410/)
    const after = (await t.api('GET', sinkUrl(sink.id))).json()
    expect(after).toMatchObject({ enabled: false, autoPush: false })
    // the item is filed right after the sync is closed, in its own transaction: wait for it
    await expect.poll(async () => (await openItems()).filter(i => i.sourceId === sink.id), { timeout: 10_000, interval: 100 })
      .toMatchObject([{ type: 'DATA_SOURCE_PUSH_FAILED', occurrences: 1, message: expect.stringMatching(/410/) }])
    expect((await t.api('POST', `${sinkUrl(sink.id)}/push`, { body: { jobId } })).json().code).toBe('SOURCE_DISABLED')
  })

  it('times out a receiver that hangs, retries, and files a pending item when the retries run out', async () => {
    const r = await receiver([], { hang: true })
    const sink = await webhookSink(r.url)
    const sync = await push(sink.id)
    expect(sync).toMatchObject({ status: 'failed', error: { code: 'TARGET_TIMEOUT' } })
    const attempts = sync.manifest[0].attempts
    expect(attempts).toHaveLength(4)
    for (const a of attempts) expect(a).toMatchObject({ status: null, code: 'TARGET_TIMEOUT' })
    expect(attempts.at(-1).error).toMatch(/Gave up after 4 attempts/)
    expect(r.posts()).toHaveLength(4)
    // the item is filed right after the sync is closed, in its own transaction: wait for it
    await expect.poll(async () => (await openItems()).filter(i => i.sourceId === sink.id), { timeout: 10_000, interval: 100 })
      .toMatchObject([{ type: 'DATA_SOURCE_PUSH_FAILED', occurrences: 1 }])
  })

  it('retries a refused connection like any network error', async () => {
    const port = await freePort()
    const sink = await webhookSink(`http://127.0.0.1:${port}/nobody`)
    const sync = await push(sink.id)
    expect(sync).toMatchObject({ status: 'failed', error: { code: 'TARGET_UNREACHABLE' } })
    expect(sync.manifest[0].attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['retrying', 'retrying', 'retrying', 'failed'])
  })

  it('refuses results over the inline limit at once, pointing to an S3 sink', async () => {
    const agent = (await t.api('POST', '/api/v1/agents', { body: { name: 'big', rules: { autoMap: false } } })).json().id
    let csv = 'sku,name\n'
    for (let i = 0; i < 200; i++) csv += `BIG-${i},A rather long product name number ${i}\n`
    const bigJob = await mappedJob(agent, csv)
    const r = await receiver([])
    const sink = await webhookSink(r.url, {}, agent)
    const sync = await push(sink.id, bigJob, agent)
    expect(sync).toMatchObject({ status: 'failed', error: { code: 'RESULTS_TOO_LARGE' } })
    expect(sync.error.message).toMatch(/4096 bytes.*S3 sink/)
    expect(sync.manifest[0].attempts).toHaveLength(1)
    expect(r.requests).toHaveLength(0)
  })

  it('refuses a private target when the network policy does not allow it, at send time too', async () => {
    const strict = await createTestApp()
    try {
      const r = await receiver([])
      const agent = (await strict.api('POST', '/api/v1/agents', { body: { name: 'strict', rules: { autoMap: false } } })).json().id
      const created = await strict.api('POST', `/api/v1/agents/${agent}/data-sources`, {
        body: { name: 'loop', role: 'RESULTS_SINK', type: 'webhook', config: { url: r.url } },
      })
      expect(created.statusCode).toBe(422)
      // a sink saved without validation (or whose DNS changed since) is refused when sending
      const { payload, headers } = multipartFile('sku\nP-1\n', { fileName: 's.csv' })
      const up = await strict.app.inject({
        method: 'POST', url: `/api/v1/agents/${agent}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${strict.adminKey}` },
      })
      const sinkId = (await strict.api('POST', `/api/v1/agents/${agent}/data-sources`, { body: { name: 'named', role: 'RESULTS_SINK', type: 'webhook', config: { url: `http://localhost:${r.port}/x` }, validate: false } })).json().id
      const job = (await strict.api('POST', `/api/v1/agents/${agent}/jobs`, { body: { uploadId: up.json().id } })).json()
      await expect.poll(async () => (await strict.api('GET', `/api/v1/agents/${agent}/jobs/${job.id}`)).json().status, { timeout: 30_000, interval: 50 })
        .toBe('succeeded')
      const res = await strict.api('POST', `/api/v1/agents/${agent}/data-sources/${sinkId}/push?wait=true`, { body: { jobId: job.id } })
      expect(res.json()).toMatchObject({ status: 'failed', error: { code: 'TARGET_NOT_ALLOWED' } })
      expect(r.requests).toHaveLength(0)
    } finally {
      await strict.close()
    }
  })
})
