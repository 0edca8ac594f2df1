import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimDeliveries, recordAttempt, renewDeliveryLeases } from '../../src/db/sql/deliveries.js'
import type { Deps } from '../../src/deps.js'
import { getJobsByIds } from '../../src/db/sql/jobs.js'
import { DELIVERY_LEASE_MS, runPushes } from '../../src/push/service.js'
import { PUSH_QUEUE, type PushJobData } from '../../src/push/queue.js'
import { newId } from '../../src/util/ids.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { until } from '../helpers/poll.js'
import { startReceiver, type Receiver } from '../helpers/receiver.js'

// Batches of push attempts (src/push/service.ts, runPushes; src/db/sql/deliveries.ts): claimed in
// one statement, made together, each recorded on its own. The runtime works no push job here: the
// test drives the claims and the batches itself.

let t: TestApp
let deps: Deps
let agentId: string
let jobId: string
let receiver: Receiver

beforeAll(async () => {
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
  deps = t.runtime.deps
  await deps.boss.offWork(PUSH_QUEUE)
  receiver = await startReceiver()
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'batches', rules: { autoMap: false } } })).json().id
  const { payload, headers } = multipartFile('sku,name,quantity\nB-1,Bolt,3\nB-2,Nut,4\n', { fileName: 'stock.csv' })
  const up = await t.app.inject({
    method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
  })
  expect(up.statusCode, up.body).toBe(201)
  jobId = (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.json().id } })).json().id
  await until('the mapping job', async () => (await getJobsByIds(deps.db, [jobId])).get(jobId)?.status === 'succeeded', 30_000, 50)
})
afterAll(async () => {
  await receiver?.close()
  await t?.close()
})

let sinks = 0
/** `n` manual pushes of the job, one webhook sink each (their queued jobs stay unworked: no job loop runs here). */
async function pushes (n: number): Promise<PushJobData[]> {
  const out: PushJobData[] = []
  for (let i = 0; i < n; i++) {
    const sink = (await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: `batch sink ${++sinks}`, role: 'RESULTS_SINK', type: 'webhook', config: { url: `${receiver.url}/in/${sinks}` }, validate: false },
    })).json()
    const pushed = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sink.id}/push`, { body: { jobId } })
    expect(pushed.statusCode, pushed.body).toBe(202)
    out.push({ sinkId: sink.id, jobId, syncId: pushed.json().syncId })
  }
  return out
}

const deliveryStates = async (batch: PushJobData[]) => (await deps.db.query<{ state: string, attempt: number }>(
  'SELECT state, attempt FROM push_deliveries WHERE sync_id = ANY($1::uuid[]) ORDER BY id', [batch.map(p => p.syncId)])).rows

describe('batches of push attempts', () => {
  it('two workers claiming overlapping batches at once never claim the same delivery', async () => {
    const batch = await pushes(6)
    const ids = batch.map(p => p.syncId)
    const [a, b] = await Promise.all([
      claimDeliveries(deps.db, ids.slice(0, 4), newId(), DELIVERY_LEASE_MS),
      claimDeliveries(deps.db, ids.slice(2), newId(), DELIVERY_LEASE_MS),
    ])
    const claimed = [...a, ...b].map(c => c.delivery.syncId)
    expect(claimed.sort()).toEqual([...ids].sort())
    expect([...a, ...b].every(c => c.delivery.attempt === 1 && !c.takenOver)).toBe(true)
    // held by live leases: a third worker gets none of them
    expect(await claimDeliveries(deps.db, ids, newId(), DELIVERY_LEASE_MS)).toEqual([])
  })

  it('an expired lease returns the batch: the next claim takes it over as a new attempt, and the old holder can neither renew nor record', async () => {
    const batch = await pushes(3)
    const ids = batch.map(p => p.syncId)
    const dead = newId()
    const first = await claimDeliveries(deps.db, ids, dead, DELIVERY_LEASE_MS)
    expect(first).toHaveLength(3)
    // the worker that claimed them was killed before sending: its lease runs out
    await deps.db.query(`UPDATE push_deliveries SET lease_expires_at = now() - interval '1 second' WHERE sync_id = ANY($1::uuid[])`, [ids])

    const next = newId()
    const second = await claimDeliveries(deps.db, ids, next, DELIVERY_LEASE_MS)
    expect(second.map(c => [c.delivery.syncId, c.delivery.attempt, c.takenOver]).sort())
      .toEqual(ids.map(id => [id, 2, true]).sort())
    expect(await renewDeliveryLeases(deps.db, first.map(c => c.delivery.id), dead, DELIVERY_LEASE_MS)).toEqual(new Set())
    const stale = await recordAttempt(deps.db, {
      id: first[0].delivery.id, token: dead, state: 'delivered', nextAttemptAt: null,
      entry: { key: 'k', etag: null, size: 1, lastModified: null, format: 'json', status: 'delivered', rowsAccepted: 2, rowsRejected: 0 },
      share: { files: 1, bytes: 1, rowsAccepted: 2, rowsRejected: 0 },
      close: { status: 'succeeded', error: null },
    })
    expect(stale).toBeNull()
    expect((await deliveryStates(batch)).map(d => d.state)).toEqual(['delivering', 'delivering', 'delivering'])
    expect(await renewDeliveryLeases(deps.db, second.map(c => c.delivery.id), next, DELIVERY_LEASE_MS))
      .toEqual(new Set(second.map(c => c.delivery.id)))
  })

  it('delivers a batch once per delivery, records each, and never sends a recorded success again', async () => {
    const batch = await pushes(5)
    const before = receiver.posts().length
    await runPushes(deps, batch)
    const posts = receiver.posts().slice(before)
    expect(posts).toHaveLength(5)
    expect(new Set(posts.map(p => p.headers['webhook-id'])).size).toBe(5)
    // one job, one format: every sink got the same bytes (read once for the batch)
    expect(new Set(posts.map(p => p.body.toString())).size).toBe(1)
    expect(JSON.parse(posts[0].body.toString())).toHaveLength(2)
    expect(await deliveryStates(batch)).toEqual(batch.map(() => ({ state: 'delivered', attempt: 1 })))
    for (const p of batch) {
      const sync = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${p.sinkId}/syncs/${p.syncId}`)).json()
      expect(sync).toMatchObject({ status: 'succeeded', filesCount: 1, rowsAccepted: 2 })
      expect(sync.manifest).toHaveLength(1)
      expect(sync.manifest[0]).toMatchObject({ status: 'delivered', state: 'delivered', size: posts[0].body.length })
      expect(sync.manifest[0].attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'delivered', status: 200 })])
    }

    // the same attempts again (a repeated queue job): nothing is claimed, nothing sent
    await runPushes(deps, batch)
    expect(receiver.posts().length - before).toBe(5)
    expect(await deliveryStates(batch)).toEqual(batch.map(() => ({ state: 'delivered', attempt: 1 })))
  })
})
