import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runSchedulerTick } from '../../src/scheduler/scheduler.js'
import { newId } from '../../src/util/ids.js'
import { pullJob } from '../../src/queue/jobs/pull.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { eventually } from '../helpers/channels-receivers.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

/**
 * The scheduler on the real runtime (both backends): due sources are claimed once, rescheduled after
 * NOW (downtime is caught up once), enqueued in one statement; and the pull workers' fair share
 * across organisations. The loop is off (FERRY_SCHEDULER_INTERVAL_MS=0): ticks are run by the test.
 */

let t: TestApp
let s3: S3rverHandle
let slow: SlowS3
let secretId: string
const BUCKET = 'scheduled'

beforeAll(async () => {
  ;[s3, slow] = await Promise.all([startS3rver({ buckets: [BUCKET] }), startSlowS3()])
  t = await createTestApp({
    env: {
      FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
      FERRY_TARGET_TIMEOUT_MS: '60000',
      FERRY_SCHEDULER_INTERVAL_MS: '0',
      FERRY_PULL_CONCURRENCY: '2',
      FERRY_PULL_ORG_CONCURRENCY: '1',
    },
  })
  const secret = await t.api('POST', '/api/v1/secrets', {
    body: { name: 's3', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
  })
  secretId = secret.json().id
})
afterAll(async () => {
  slow?.release()
  await t?.close()
  await Promise.all([s3?.close(), slow?.close()])
})

const db = () => t.database.db

async function newAgent (body: Record<string, unknown>, key?: string): Promise<string> {
  const res = await t.api('POST', '/api/v1/agents', { body, key })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id
}

async function newSource (
  agentId: string, name: string, options: { key?: string, secretRef?: string, endpoint?: string, bucket?: string } = {},
): Promise<Record<string, any>> {
  const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
    key: options.key,
    body: {
      name, role: 'INVENTORY_SOURCE', type: 's3', validate: false,
      config: {
        bucket: options.bucket ?? BUCKET, prefix: `${name}/`, region: 'us-east-1',
        secretRef: options.secretRef ?? secretId, endpoint: options.endpoint ?? s3.endpoint, forcePathStyle: true,
      },
    },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json()
}

/** pg-boss pull jobs of these sources in any state (completed ones stay in the job table for hours) */
async function jobsOf (
  sourceIds: string[], states = ['created', 'retry', 'active', 'completed', 'failed', 'cancelled'],
): Promise<Array<{ singleton_key: string, state: string, priority: number, data: any }>> {
  const { rows } = await db().query<{ singleton_key: string, state: string, priority: number, data: any }>(
    `SELECT singleton_key, state::text AS state, priority, data FROM pgboss.job
     WHERE name = 'pull-source' AND singleton_key = ANY($1::text[]) AND state::text = ANY($2::text[])`,
    [sourceIds, states])
  return rows
}

/** Runs fn with this process's pull workers stopped (jobs stay queued), then restarts them: two loops sharing one handler, as the runtime does. */
async function withPullsPaused (fn: () => Promise<void>): Promise<void> {
  const { boss } = t.runtime.deps
  await boss.offWork('pull-source')
  try {
    await fn()
  } finally {
    const handler = pullJob.handler(t.runtime.deps)
    for (let i = 0; i < t.config.pullConcurrency; i++) await boss.work('pull-source', pullJob.work!, handler)
  }
}

const makeDue = (ids: string[], ago = '1 minute') =>
  db().query(`UPDATE data_sources SET next_pull_at = now() - $2::interval WHERE id = ANY($1::uuid[])`, [ids, ago])

describe('the scheduler', () => {
  it('catches up a source that missed many runs once, and moves its next run past now', async () => {
    await withPullsPaused(async () => {
      const agentId = await newAgent({ name: 'catch-up', scheduleCron: '*/5 * * * *', timezone: 'Asia/Kolkata' })
      const source = await newSource(agentId, 'catch-up')
      expect(source.nextPullAt).toBeTruthy()
      // every worker was down for three hours: 36 runs were missed
      await makeDue([source.id], '3 hours')
      const tick = await runSchedulerTick(t.runtime.deps)
      expect(tick).toEqual({ claimed: 1, enqueued: 1 })
      const jobs = await jobsOf([source.id])
      expect(jobs).toHaveLength(1)
      expect(jobs[0].data).toEqual({ sourceId: source.id, trigger: 'schedule' })
      const next = Date.parse((await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}`)).json().nextPullAt)
      expect(next).toBeGreaterThan(Date.now())
      expect(next).toBeLessThanOrEqual(Date.now() + 5 * 60_000)
      expect(new Date(next).getUTCMinutes() % 5).toBe(0)
      // nothing is due any more: a second tick claims nothing
      expect(await runSchedulerTick(t.runtime.deps)).toEqual({ claimed: 0, enqueued: 0 })
      // due again while its job still waits in the queue: rescheduled, but no second job
      await makeDue([source.id])
      expect(await runSchedulerTick(t.runtime.deps)).toEqual({ claimed: 1, enqueued: 1 })
      expect(await jobsOf([source.id], ['created'])).toHaveLength(1)
      await db().query(`DELETE FROM pgboss.job WHERE name = 'pull-source' AND singleton_key = $1`, [source.id])
    })
  })

  it('stops matching sources that are no longer scheduled, and follows cron and timezone changes', async () => {
    const agentId = await newAgent({ name: 'switches', scheduleCron: '0 6 * * *', timezone: 'UTC' })
    const source = await newSource(agentId, 'switches')
    expect(new Date(source.nextPullAt).getUTCHours()).toBe(6)
    // the agent's cron and timezone move nextPullAt
    await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { scheduleCron: '0 6 * * *', timezone: 'America/New_York' } })
    const moved = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}`)).json()
    const newYorkHour = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: 'numeric', hourCycle: 'h23' })
    expect(Number(newYorkHour.format(new Date(moved.nextPullAt)))).toBe(6)
    expect(moved.nextPullAt).not.toBe(source.nextPullAt)
    // autoPull off clears it
    await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { rules: { autoPull: false } } })
    expect((await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}`)).json().nextPullAt).toBeNull()
    // a stale due time (set behind the API's back) is cleared by the scheduler, not pulled
    await makeDue([source.id])
    const tick = await runSchedulerTick(t.runtime.deps)
    expect(tick).toEqual({ claimed: 1, enqueued: 0 })
    const { rows } = await db().query<{ next_pull_at: unknown }>('SELECT next_pull_at FROM data_sources WHERE id = $1', [source.id])
    expect(rows[0].next_pull_at).toBeNull()
    expect(await jobsOf([source.id])).toHaveLength(0)
  })

  it('concurrent ticks split a large batch: every due source claimed and enqueued exactly once, in one job each', async () => {
    await withPullsPaused(async () => {
      const agentId = await newAgent({ name: 'bulk', scheduleCron: '* * * * *' })
      const other = await newAgent({ name: 'bulk-2', scheduleCron: '* * * * *' })
      const orgId = (await db().query<{ org_id: string }>('SELECT org_id FROM agents WHERE id = $1', [agentId])).rows[0].org_id
      const ids: string[] = []
      // 300 sources straight into the table (the API path is covered above), two agents interleaved
      for (let i = 0; i < 300; i++) ids.push(newId())
      await db().query(
        `INSERT INTO data_sources (id, org_id, agent_id, name, role, type, config, validation_skipped, next_pull_at)
         SELECT x.id, $2, CASE WHEN x.n % 2 = 0 THEN $3::uuid ELSE $4::uuid END, 'bulk ' || x.n, 'INVENTORY_SOURCE', 's3', $5::jsonb, true,
                now() - interval '1 second'
         FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, n)`,
        [ids, orgId, agentId, other,
          JSON.stringify({ bucket: BUCKET, prefix: 'bulk/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true })])
      const ticks = await Promise.all([0, 1, 2].map(() => runSchedulerTick(t.runtime.deps, { batchSize: 50 })))
      expect(ticks.reduce((n, r) => n + r.claimed, 0)).toBe(300)
      const jobs = await jobsOf(ids)
      expect(jobs).toHaveLength(300)
      expect(new Set(jobs.map(j => j.singleton_key)).size).toBe(300)
      const { rows } = await db().query<{ n: number }>('SELECT count(*) AS n FROM data_sources WHERE id = ANY($1::uuid[]) AND next_pull_at > now()', [ids])
      expect(rows[0].n).toBe(300)
      await db().query(`DELETE FROM pgboss.job WHERE name = 'pull-source' AND singleton_key = ANY($1::text[])`, [ids])
      await db().query('DELETE FROM data_sources WHERE id = ANY($1::uuid[])', [ids])
    })
  })

  it('gives each organisation round-robin priorities within a batch', async () => {
    await withPullsPaused(async () => {
      const bigKey = await t.newOrg('big')
      const smallKey = await t.newOrg('small')
      const s3rverSecret = { name: 's3', type: 'aws', value: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }
      const bigSecret = (await t.api('POST', '/api/v1/secrets', { key: bigKey, body: s3rverSecret })).json().id
      const smallSecret = (await t.api('POST', '/api/v1/secrets', { key: smallKey, body: s3rverSecret })).json().id
      const bigAgent = await newAgent({ name: 'big' }, bigKey)
      const smallAgent = await newAgent({ name: 'small' }, smallKey)
      const big = []
      for (let i = 0; i < 4; i++) big.push((await newSource(bigAgent, `big-${i}`, { key: bigKey, secretRef: bigSecret })).id)
      const small = (await newSource(smallAgent, 'small-0', { key: smallKey, secretRef: smallSecret })).id
      await makeDue(big, '10 minutes')
      await makeDue([small])
      await runSchedulerTick(t.runtime.deps)
      const jobs = await jobsOf([...big, small])
      const priority = Object.fromEntries(jobs.map(j => [j.singleton_key, j.priority]))
      // the small org's only job ranks with the big org's first, ahead of the big org's others
      expect(priority[small]).toBe(0)
      expect(big.map(id => priority[id]).sort((a, b) => b - a)).toEqual([0, -1, -2, -3])
      await db().query(`DELETE FROM pgboss.job WHERE name = 'pull-source' AND singleton_key = ANY($1::text[])`, [[...big, small]])
    })
  })
})

describe('pull slots are fair across organisations', () => {
  it('an organisation whose bucket hangs holds one of two slots; another organisation\'s pull still runs', async () => {
    const slowKey = await t.newOrg('slow-org')
    const s3rverSecret = { name: 's3', type: 'aws', value: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } }
    const slowSecret = (await t.api('POST', '/api/v1/secrets', { key: slowKey, body: s3rverSecret })).json().id
    const slowAgent = await newAgent({ name: 'slow' }, slowKey)
    const slowSources: string[] = []
    for (let i = 0; i < 3; i++) {
      slowSources.push((await newSource(slowAgent, `slow-${i}`, { key: slowKey, secretRef: slowSecret, endpoint: slow.endpoint, bucket: 'slow' })).id)
    }
    const agentId = await newAgent({ name: 'quick' })
    const quick = await newSource(agentId, 'quick')

    // the slow organisation's pulls are due first and take what they can
    await makeDue(slowSources)
    await runSchedulerTick(t.runtime.deps)
    await eventually(() => slow.held() >= 1, 'a slow pull to hang in the bucket')

    await makeDue([quick.id])
    await runSchedulerTick(t.runtime.deps)
    // the quick organisation's scheduled pull finishes while the slow bucket still holds its request
    const sync = await eventually(async () => {
      const items = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${quick.id}/syncs`)).json().items
      return items.find((s: { trigger: string, status: string }) => s.trigger === 'schedule' && s.status !== 'running')
    }, 'the other organisation\'s pull', 45_000)
    expect(sync.status).toBe('succeeded')
    // the slow organisation never held both slots: its other pulls were deferred, not started
    expect(slow.held()).toBe(1)
    expect(slow.received()).toBe(1)
    const deferred = await jobsOf(slowSources, ['created'])
    expect(deferred.length).toBeGreaterThanOrEqual(1)

    // released, every slow pull completes (the deferred ones come back)
    slow.release()
    await eventually(async () => {
      const { rows } = await db().query<{ n: number }>(
        `SELECT count(DISTINCT source_id) AS n FROM syncs WHERE source_id = ANY($1::uuid[]) AND trigger = 'schedule' AND status = 'succeeded'`, [slowSources])
      return rows[0].n === 3
    }, 'the slow organisation\'s pulls', 45_000)
  })
})

interface SlowS3 {
  endpoint: string
  /** requests waiting for release() */
  held (): number
  received (): number
  /** answers every held (and later) request with an empty listing */
  release (): void
  close (): Promise<void>
}

/** An S3 endpoint that holds every ListObjectsV2 request until released: a bucket that hangs. */
async function startSlowS3 (): Promise<SlowS3> {
  const waiting: http.ServerResponse[] = []
  let released = false
  let received = 0
  const answer = (res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/xml' }).end('<?xml version="1.0" encoding="UTF-8"?>' +
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>slow</Name><Prefix></Prefix><KeyCount>0</KeyCount>' +
      '<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>')
  }
  const server = http.createServer((req, res) => {
    received++
    req.resume()
    if (released) answer(res)
    else waiting.push(res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held: () => waiting.filter(r => !r.writableEnded).length,
    received: () => received,
    release () {
      released = true
      for (const res of waiting.splice(0)) if (!res.writableEnded) answer(res)
    },
    close: () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) }),
  }
}
