import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acquireLease } from '../../src/db/sql/sources.js'
import { getSyncById } from '../../src/db/sql/syncs.js'
import { PULL_QUEUE, enqueuePull } from '../../src/sync/queue.js'
import { sweepLostSyncs } from '../../src/sync/sweeper.js'
import { pullSource } from '../../src/sync/pull.js'
import { newId } from '../../src/util/ids.js'
import type { TestApp } from '../helpers/app.js'
import { backend } from '../helpers/db.js'
import { s3 as match, type FaultProxy } from '../helpers/fault-proxy.js'
import { spawnPullChild } from '../helpers/process.js'
import { numberedCsv as csv, startS3World, type S3World } from '../helpers/s3-world.js'

/**
 * Issue #14 case 6: a pull whose worker died used to stay `running` until someone pulled that
 * source again, and its pg-boss job stayed active for hours. The lost-pull sweep of every live
 * worker (src/sync/sweeper.ts) closes it as failed/WORKER_LOST once the source's lease has expired,
 * takes the dead lease away, and hands the job back to pg-boss.
 */

const BUCKET = 'lost-inventory'
const LEASE_SECONDS = 2

let w: S3World
let t: TestApp
let proxy: FaultProxy

beforeAll(async () => {
  // a short lease: a dead worker's pull counts as lost after 2 s (the sweep runs every second here)
  w = await startS3World({ bucket: BUCKET, name: 'worker-lost', env: { FERRY_PULL_LEASE_SECONDS: String(LEASE_SECONDS) } })
  ;({ t, proxy } = w)
  // this runtime works no pull job itself: the tests hold the jobs they make
  await t.runtime.deps.boss.offWork(PULL_QUEUE)
})
afterAll(async () => { await w?.close() })

async function insertSync (sourceId: string, s: { direction?: string, trigger: string, jobId?: string }): Promise<string> {
  const id = newId()
  await t.database.db.query(
    `INSERT INTO syncs (id, org_id, source_id, direction, trigger, status, job_id, started_at)
     SELECT $1, org_id, id, $3, $4, 'running', $5, now() - interval '1 minute' FROM data_sources WHERE id = $2`,
    [id, sourceId, s.direction ?? 'inbound', s.trigger, s.jobId ?? null])
  return id
}

const statusOf = async (syncId: string) => {
  const sync = await getSyncById(t.database.db, syncId)
  return { status: sync?.status, code: sync?.error?.code ?? null }
}

async function leaseOf (sourceId: string): Promise<string | null> {
  const { rows } = await t.database.db.query<{ lease_token: string | null }>('SELECT lease_token FROM data_sources WHERE id = $1', [sourceId])
  return rows[0].lease_token
}

describe('the lost-pull sweep', () => {
  it('closes a pull whose lease expired as failed/WORKER_LOST and files the scheduled pull\'s pending item; ' +
    'leaves live, queued, pushed and webhook syncs alone', async () => {
    const db = t.database.db
    const dead = await w.newSource('dead/')
    const live = await w.newSource('live/')
    const queued = await w.newSource('queued/')
    // a worker took the lease and died: nobody renews it
    expect(await acquireLease(db, dead, newId(), 1)).toBe(true)
    const lost = await insertSync(dead, { trigger: 'schedule' })
    // not pulls (or not lost): a push (the delivery sweeper takes those over), a webhook delivery
    const push = await insertSync(dead, { direction: 'outbound', trigger: 'manual' })
    const webhook = await insertSync(dead, { trigger: 'webhook' })
    // a pull whose worker is alive and renewing
    expect(await acquireLease(db, live, newId(), 3600)).toBe(true)
    const running = await insertSync(live, { trigger: 'schedule' })
    // an on-demand pull whose job still waits in the queue
    const jobId = await t.runtime.deps.boss.send(PULL_QUEUE, { sourceId: queued, trigger: 'manual' }, { singletonKey: queued, startAfter: 3600 })
    const waiting = await insertSync(queued, { trigger: 'manual', jobId: jobId! })

    await expect.poll(() => statusOf(lost), { timeout: 30_000, interval: 250 }).toEqual({ status: 'failed', code: 'WORKER_LOST' })
    expect((await getSyncById(db, lost))?.finishedAt).toBeTruthy()
    expect(await leaseOf(dead)).toBeNull()
    // the same sweep looked at the others and left them running; a sweep now finds nothing either
    expect(await sweepLostSyncs(t.runtime.deps)).toEqual([])
    for (const id of [push, webhook, running, waiting]) expect(await statusOf(id)).toEqual({ status: 'running', code: null })

    // a scheduled pull with nothing left to retry it is a failure of the source, as any failed pull
    const items = await t.api('GET', `/api/v1/agents/${w.agentId}/pending-items`)
    const item = items.json().items.find((i: { sourceId: string }) => i.sourceId === dead)
    expect(item).toMatchObject({ type: 'DATA_SOURCE_PULL_FAILED', status: 'open' })
    expect(item.message).toContain('stopped')
    expect(items.json().items.filter((i: { sourceId: string }) => i.sourceId !== dead)).toEqual([])
    for (const id of [push, webhook, running, waiting]) await db.query('DELETE FROM syncs WHERE id = $1', [id])
  })

  // PGlite's database lives inside one process, so a second process cannot share it: PostgreSQL only.
  it.skipIf(backend() === 'pglite')('a worker SIGKILLed mid-pull: a live worker closes its sync as WORKER_LOST, its job is retried, ' +
    'a later pull takes every file once', async () => {
    const db = t.database.db
    const boss = t.runtime.deps.boss
    await w.put('killed/1-first.csv', csv('K1', 3))
    await w.put('killed/2-big.csv', csv('K2', 5000))
    await w.put('killed/3-last.csv', csv('K3', 4))
    const sourceId = await w.newSource('killed/')
    // the child gets the first 32 KiB of the big file, then nothing: provably mid-pull until killed
    const stall = proxy.plan(match.getObject(BUCKET, 'killed/2-big.csv'), { kind: 'stall', afterBytes: 32 * 1024 })
    // the job the dead worker was running (this runtime does not work pull jobs: it stays with the child)
    expect(await enqueuePull(boss, { sourceId, trigger: 'manual' })).toBeTruthy()
    const [job] = await boss.fetch(PULL_QUEUE)
    expect(job.data).toMatchObject({ sourceId })

    // files in key order: 1-first.csv lands, then 2-big.csv stalls
    const { child, exited, whileAlive } = await spawnPullChild({
      databaseUrl: t.database.url!, sourceId, jobId: job.id, leaseSeconds: LEASE_SECONDS, cleanup: w.cleanup,
    })

    await whileAlive(stall.reached())
    const ledger = async () => (await db.query('SELECT key FROM source_files WHERE source_id = $1', [sourceId])).rows.map(r => r.key)
    await expect.poll(ledger).toEqual(['killed/1-first.csv'])
    const { rows: running } = await db.query<{ id: string, job_id: string }>(
      `SELECT id, job_id FROM syncs WHERE source_id = $1 AND status = 'running'`, [sourceId])
    expect(running).toEqual([{ id: expect.any(String), job_id: job.id }])
    const deadSyncId = running[0].id

    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')

    // nobody pulls the source again: the sweep of this (live) runtime closes the dead worker's sync
    await expect.poll(() => statusOf(deadSyncId), { timeout: 30_000, interval: 250 }).toEqual({ status: 'failed', code: 'WORKER_LOST' })
    const closed = (await getSyncById(db, deadSyncId))!
    expect(closed.manifest.map(e => [e.key, e.status])).toEqual([['killed/1-first.csv', 'ingested']])
    expect(closed).toMatchObject({ filesCount: 1, rowsAccepted: 3 })
    // its job went back to pg-boss for a retry instead of staying active until it expires
    const [after] = await boss.findJobs(PULL_QUEUE, { id: job.id })
    expect(after?.state).toBe('retry')
    expect(await leaseOf(sourceId)).toBeNull()
    expect(await w.landed(sourceId)).toEqual({ '1-first.csv': { uploads: 1, rows: 3 } })

    // a later pull takes every file not yet taken, each exactly once
    proxy.clear()
    const next = await pullSource(t.runtime.deps, { sourceId, trigger: 'manual' })
    expect(next.status).toBe('succeeded')
    expect(next.manifest.map(e => [e.key, e.status]).sort()).toEqual([['killed/2-big.csv', 'ingested'], ['killed/3-last.csv', 'ingested']])
    expect(await w.landed(sourceId)).toEqual({
      '1-first.csv': { uploads: 1, rows: 3 }, '2-big.csv': { uploads: 1, rows: 5000 }, '3-last.csv': { uploads: 1, rows: 4 },
    })
    expect((await pullSource(t.runtime.deps, { sourceId, trigger: 'manual' })).manifest).toEqual([])
    expect(await statusOf(deadSyncId)).toEqual({ status: 'failed', code: 'WORKER_LOST' })
  })
})
