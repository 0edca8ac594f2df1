import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Deps } from '../../src/deps.js'
import { acquireLease, getSourceById, holdsLease } from '../../src/db/sql/sources.js'
import { getSyncById, type ManifestEntry, type Sync } from '../../src/db/sql/syncs.js'
import { isAppError } from '../../src/errors.js'
import { AddressPolicy } from '../../src/net/address-policy.js'
import { createSource } from '../../src/sources/service.js'
import { testSource } from '../../src/sync/availability.js'
import { pullSource } from '../../src/sync/pull.js'
import type { TestApp } from '../helpers/app.js'
import { backend } from '../helpers/db.js'
import { s3 as match, type FaultProxy } from '../helpers/fault-proxy.js'
import { spawnPullChild } from '../helpers/process.js'
import type { S3rverHandle } from '../helpers/s3.js'
import { numberedCsv as csv, startS3World, type S3World } from '../helpers/s3-world.js'

/**
 * Pulls against a misbehaving S3: a fault-injecting proxy in front of s3rver answers 500/503,
 * resets connections, stalls or truncates bodies; a worker process is killed mid-file; the guarded
 * network path refuses a loopback endpoint at connect time; two pulls of one source race.
 * The invariant every test checks: each file's rows exist exactly once, and a file that did not
 * land is not in the ledger (so the next pull takes it).
 */

const BUCKET = 'faulty-inventory'

let w: S3World
let t: TestApp
let store: S3rverHandle
let proxy: FaultProxy
let agentId: string
let secretId: string

beforeAll(async () => {
  // a short target timeout: it is also the idle timeout of a response body (the stall test)
  w = await startS3World({ bucket: BUCKET, name: 'faults', env: { FERRY_TARGET_TIMEOUT_MS: '2500' } })
  ;({ t, store, proxy, agentId, secretId } = w)
})
afterEach(() => { proxy.clear() })
afterAll(async () => { await w?.close() })

const put = (key: string, body: string) => w.put(key, body)

const newSource = (prefix: string, endpoint?: string) => w.newSource(prefix, { endpoint })

const pull = (sourceId: string, options: { deps?: Deps, leaseWaitMs?: number } = {}) =>
  pullSource(options.deps ?? t.runtime.deps, { sourceId, trigger: 'manual', leaseWaitMs: options.leaseWaitMs })

const statusOf = (sync: Sync) => Object.fromEntries(sync.manifest.map((e: ManifestEntry) => [e.key, e.status]))

async function ledgerKeys (sourceId: string): Promise<string[]> {
  const { rows } = await t.database.db.query<{ key: string }>('SELECT key FROM source_files WHERE source_id = $1 ORDER BY key', [sourceId])
  return rows.map(r => r.key)
}

describe('pulls against a faulty S3', () => {
  it('S3 answering 500/503 and resetting connections for a few requests, then recovering: every file exactly once', async () => {
    await put('flaky/a.csv', csv('A', 3))
    await put('flaky/b.csv', csv('B', 2))
    await put('flaky/c.csv', csv('C', 4))
    await put('flaky/d.csv', csv('D', 1))
    const sourceId = await newSource('flaky/')

    const faults = [
      proxy.plan(match.listObjects(BUCKET), { kind: 'slowDown' }),
      proxy.plan(match.getObject(BUCKET, 'flaky/a.csv'), { kind: 'status', status: 500 }, 2),
      proxy.plan(match.getObject(BUCKET, 'flaky/b.csv'), { kind: 'slowDown' }, 2),
      proxy.plan(match.getObject(BUCKET, 'flaky/c.csv'), { kind: 'reset' }),
      proxy.plan(match.getObject(BUCKET, 'flaky/d.csv'), {
        kind: 'status', status: 503, code: 'ServiceUnavailable', message: 'Service is unable to handle request.',
      }),
    ]
    const sync = await pull(sourceId)
    // every planned fault was served: the SDK retried through them
    expect(faults.map(f => f.hits)).toEqual([1, 2, 2, 1, 1])
    expect(sync.status).toBe('succeeded')
    expect(statusOf(sync)).toEqual({ 'flaky/a.csv': 'ingested', 'flaky/b.csv': 'ingested', 'flaky/c.csv': 'ingested', 'flaky/d.csv': 'ingested' })
    expect(sync).toMatchObject({ filesCount: 4, rowsAccepted: 10 })
    expect(await w.landed(sourceId)).toEqual({
      'a.csv': { uploads: 1, rows: 3 }, 'b.csv': { uploads: 1, rows: 2 }, 'c.csv': { uploads: 1, rows: 4 }, 'd.csv': { uploads: 1, rows: 1 },
    })
    expect((await pull(sourceId)).manifest).toEqual([])
  })

  it('a file whose every attempt fails is "failed", stays out of the ledger, and the next pull takes it once', async () => {
    await put('down/ok.csv', csv('OK', 2))
    await put('down/broken.csv', csv('BR', 5))
    const sourceId = await newSource('down/')
    const outage = proxy.plan(match.getObject(BUCKET, 'down/broken.csv'), { kind: 'status', status: 500 }, 1000)

    const first = await pull(sourceId)
    expect(outage.hits).toBeGreaterThan(1) // retried before giving up
    expect(first.status).toBe('partial')
    expect(statusOf(first)).toEqual({ 'down/ok.csv': 'ingested', 'down/broken.csv': 'failed' })
    expect(first.manifest.find(e => e.key === 'down/broken.csv')?.reason).toMatch(/retried by the next pull|S3|error/i)
    expect(await ledgerKeys(sourceId)).toEqual(['down/ok.csv'])
    expect(await w.landed(sourceId)).toEqual({ 'ok.csv': { uploads: 1, rows: 2 } })

    proxy.clear() // S3 recovers
    const second = await pull(sourceId)
    expect(second.status).toBe('succeeded')
    expect(statusOf(second)).toEqual({ 'down/broken.csv': 'ingested' })
    expect(await w.landed(sourceId)).toEqual({ 'ok.csv': { uploads: 1, rows: 2 }, 'broken.csv': { uploads: 1, rows: 5 } })
  })

  it('a stalled response body hits the idle timeout; a truncated one fails too; neither is half-ingested, the next pull takes each once', async () => {
    const big = csv('ST', 3000) // ~100 KiB: the faults strike well inside the file
    await put('stall/slow.csv', big)
    await put('stall/cut.csv', csv('CU', 3000))
    await put('stall/fine.csv', csv('FI', 2))
    const sourceId = await newSource('stall/')
    const stall = proxy.plan(match.getObject(BUCKET, 'stall/slow.csv'), { kind: 'stall', afterBytes: 16 * 1024 })
    const cut = proxy.plan(match.getObject(BUCKET, 'stall/cut.csv'), { kind: 'truncate', afterBytes: 20 * 1024 })

    const first = await pull(sourceId)
    expect([stall.hits, cut.hits]).toEqual([1, 1])
    expect(first.status).toBe('partial')
    expect(statusOf(first)).toEqual({ 'stall/slow.csv': 'failed', 'stall/cut.csv': 'failed', 'stall/fine.csv': 'ingested' })
    expect(await ledgerKeys(sourceId)).toEqual(['stall/fine.csv'])
    expect(await w.landed(sourceId)).toEqual({ 'fine.csv': { uploads: 1, rows: 2 } })
    // the reason is a line a person can act on, not an internal error string
    for (const key of ['stall/slow.csv', 'stall/cut.csv']) {
      expect(first.manifest.find(e => e.key === key)?.reason).toBeTruthy()
    }

    const second = await pull(sourceId)
    expect(second.status).toBe('succeeded')
    expect(statusOf(second)).toEqual({ 'stall/slow.csv': 'ingested', 'stall/cut.csv': 'ingested' })
    expect(await w.landed(sourceId)).toEqual({
      'fine.csv': { uploads: 1, rows: 2 }, 'slow.csv': { uploads: 1, rows: 3000 }, 'cut.csv': { uploads: 1, rows: 3000 },
    })
    expect((await pull(sourceId)).manifest).toEqual([])
  })

  // PGlite's database lives inside one process (in memory here, and an on-disk PGlite may be
  // opened by one process only), so a second process cannot share it: PostgreSQL only.
  it.skipIf(backend() === 'pglite')('a worker killed in the middle of a file leaves nothing of it; ' +
    'the next pull takes it once and closes the dead sync', async () => {
    await put('kill/1-first.csv', csv('K1', 3))
    await put('kill/2-big.csv', csv('K2', 5000))
    const sourceId = await newSource('kill/')
    // the child gets the first 32 KiB of the big file, then nothing: provably mid-file until killed
    const stall = proxy.plan(match.getObject(BUCKET, 'kill/2-big.csv'), { kind: 'stall', afterBytes: 32 * 1024 })

    // files in key order: 1-first.csv lands, then 2-big.csv stalls; the dead worker's lease runs out quickly
    const { child, exited, whileAlive } = await spawnPullChild({ databaseUrl: t.database.url!, sourceId, leaseSeconds: 2, cleanup: w.cleanup })

    await whileAlive(stall.reached())
    // the file before it is committed; the big one is being read, with no transaction held open for it
    // (a file is published in one short transaction once read: docs/reliability.md "Short ingest transactions")
    await expect.poll(() => ledgerKeys(sourceId)).toEqual(['kill/1-first.csv'])
    const { rows: running } = await t.database.db.query<{ id: string }>(`SELECT id FROM syncs WHERE source_id = $1 AND status = 'running'`, [sourceId])
    expect(running).toHaveLength(1)
    const deadSyncId = running[0].id

    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    // nothing of the file that was being read, neither rows nor a ledger row
    expect(await ledgerKeys(sourceId)).toEqual(['kill/1-first.csv'])
    expect(await w.landed(sourceId)).toEqual({ '1-first.csv': { uploads: 1, rows: 3 } })

    // the next pull waits for the dead worker's lease to run out, takes the file once, closes the dead sync
    const next = await pull(sourceId, { leaseWaitMs: 30_000 })
    expect(next.status).toBe('succeeded')
    expect(statusOf(next)).toEqual({ 'kill/2-big.csv': 'ingested' })
    expect(await w.landed(sourceId)).toEqual({ '1-first.csv': { uploads: 1, rows: 3 }, '2-big.csv': { uploads: 1, rows: 5000 } })
    const dead = await getSyncById(t.database.db, deadSyncId)
    expect(dead).toMatchObject({ status: 'failed', error: { code: 'LEASE_LOST' } })
    expect(dead?.finishedAt).toBeTruthy()
    expect((await pull(sourceId)).manifest).toEqual([])
  })

  it('two pulls of one source never both ingest: one is refused or waits, every file lands once', async () => {
    for (const name of ['a', 'b', 'c']) await put(`race/${name}.csv`, csv(`R${name}`, 3))
    const sourceId = await newSource('race/')
    // a long target timeout here: the held download must not time out and be retried
    const deps: Deps = { ...t.runtime.deps, config: { ...t.runtime.deps.config, targetTimeoutMs: 120_000 } }
    const hold = proxy.plan(match.getObject(BUCKET, 'race/a.csv'), { kind: 'hold' })

    const settle = <T>(p: Promise<T>) => p.then(value => ({ value, error: null }), (error: unknown) => ({ value: null, error }))
    const first = settle(pull(sourceId, { deps }))
    await hold.reached() // the first pull holds the lease and is in the middle of a file
    const second = settle(pull(sourceId, { deps, leaseWaitMs: 0 }))
    const third = settle(pull(sourceId, { deps, leaseWaitMs: 60_000 }))
    if (backend() === 'postgres') {
      // refused at once while the first is provably mid-file (on PGlite, one connection, the
      // refusal can only be answered after the first pull's file transaction ends)
      const refused = await second
      expect(isAppError(refused.error) && refused.error.code).toBe('PULL_IN_PROGRESS')
    }
    hold.release()
    const results = await Promise.all([first, second, third])

    expect(results[0].error).toBeNull()
    expect(statusOf(results[0].value!)).toEqual({ 'race/a.csv': 'ingested', 'race/b.csv': 'ingested', 'race/c.csv': 'ingested' })
    for (const other of results.slice(1)) {
      // the others either never started (PULL_IN_PROGRESS) or found nothing new
      if (other.error) expect(isAppError(other.error) && other.error.code).toBe('PULL_IN_PROGRESS')
      else expect(other.value!.manifest).toEqual([])
    }
    expect(results[2].error).toBeNull() // the waiting one ran after the first
    expect(await w.landed(sourceId)).toEqual({ 'a.csv': { uploads: 1, rows: 3 }, 'b.csv': { uploads: 1, rows: 3 }, 'c.csv': { uploads: 1, rows: 3 } })
    const { rows } = await t.database.db.query<{ n: number }>(`SELECT count(*) AS n FROM syncs WHERE source_id = $1 AND status = 'running'`, [sourceId])
    expect(Number(rows[0].n)).toBe(0)
  })
})

describe('lease fencing', () => {
  it('a pull whose lease was taken over while it read a file commits nothing of it', async () => {
    await put('fenced/a.csv', csv('F', 3))
    const sourceId = await newSource('fenced/')
    const deps: Deps = { ...t.runtime.deps, config: { ...t.runtime.deps.config, targetTimeoutMs: 120_000 } }
    const hold = proxy.plan(match.getObject(BUCKET, 'fenced/a.csv'), { kind: 'hold' })
    const pulling = pull(sourceId, { deps }).then(() => null, (err: unknown) => err)
    await hold.reached()
    // another worker's pull took the lease (this one stalled past its expiry)
    await t.database.db.query(`UPDATE data_sources SET lease_token = $2, lease_expires_at = now() + interval '1 minute' WHERE id = $1`,
      [sourceId, '01a22500-0000-7000-8000-00000000f00d'])
    hold.release()
    const err = await pulling
    expect(isAppError(err) && err.code).toBe('LEASE_LOST')
    expect(await w.landed(sourceId)).toEqual({})
    expect(await ledgerKeys(sourceId)).toEqual([])
    await t.database.db.query('UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1', [sourceId])
  })

  it('fences on a share lock: the files of one pull check at once, a takeover waits for their commits', async () => {
    // PGlite is one connection: nothing there runs concurrently
    if (backend() !== 'postgres') return
    const db = t.database.db
    const sourceId = await newSource('fence-lock/')
    const mine = '01a22500-0000-7000-8000-00000000aaaa'
    const theirs = '01a22500-0000-7000-8000-00000000bbbb'
    expect(await acquireLease(db, sourceId, mine, 60)).toBe(true)
    // expired, so another pull may take it over as soon as no file transaction holds the row
    await db.query(`UPDATE data_sources SET lease_expires_at = now() - interval '1 second' WHERE id = $1`, [sourceId])

    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    let checked = 0
    const file = () => db.transaction(async (tx) => {
      expect(await holdsLease(tx, sourceId, mine)).toBe(true)
      checked++
      await gate
    })
    const files = [file(), file()]
    await expect.poll(() => checked, { timeout: 2_000, interval: 20 }).toBe(2) // neither waited for the other

    let takenOver: boolean | undefined
    const takeover = acquireLease(db, sourceId, theirs, 60).then((ok) => { takenOver = ok })
    // a deliberate wait: the takeover must still be waiting after it
    await new Promise(resolve => setTimeout(resolve, 300))
    expect(takenOver).toBeUndefined() // it waits for the files' commits
    release()
    await Promise.all(files)
    await takeover
    expect(takenOver).toBe(true)
    // a file of the old pull that checks now sees the new token and rolls back
    expect(await db.transaction(tx => holdsLease(tx, sourceId, mine))).toBe(false)
    await db.query('UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1', [sourceId])
  })
})

describe('the guarded network path at connect time', () => {
  it('refuses an endpoint whose host name resolves to 127.0.0.1 when private networks are not allowed: ' +
    'at save time, in the test, and in the pull — with no request reaching the store', async () => {
    await put('guard/x.csv', csv('G', 2))
    // saved while loopback is allowed (this runtime) …
    const viaName = await newSource('guard/', `http://localhost:${store.port}`)
    const viaLiteral = await newSource('guard/', `http://127.0.0.1:${store.port}`)
    const source = (await getSourceById(t.database.db, viaName))!
    // … then used by a strict one: the default policy, nothing private allowed
    const strict: Deps = { ...t.runtime.deps, policy: new AddressPolicy([]) }
    const before = store.requestCount()

    // save time: 422 with the field to fix
    const saved = await createSource(strict, source.orgId, agentId, {
      name: 'ssrf', role: 'INVENTORY_SOURCE', type: 's3',
      config: { bucket: BUCKET, prefix: 'guard/', region: 'us-east-1', secretRef: secretId, endpoint: `http://localhost:${store.port}`, forcePathStyle: true },
    }).then(() => null, (err: unknown) => err)
    expect(isAppError(saved) && { status: saved.statusCode, code: saved.code, field: saved.details?.field })
      .toEqual({ status: 422, code: 'SOURCE_VALIDATION_FAILED', field: 'config.endpoint' })

    // the read-only test stops at the endpoint check
    const tested = await testSource(strict, source)
    expect(tested.ok).toBe(false)
    expect(tested.checks.at(-1)).toMatchObject({ name: 'endpoint', ok: false })

    // connect time, host name: resolved, refused, the sync fails with a diagnostic
    const sync = await pull(viaName, { deps: strict })
    expect(sync.status).toBe('failed')
    expect(sync.error).toMatchObject({ code: 'S3_CONFIG', details: { reason: 'endpoint_refused' } })
    expect(sync.error?.message).toMatch(/not allowed|may not connect/i)

    // connect time, IP literal: refused before any socket is opened
    const literal = await pull(viaLiteral, { deps: strict }).then(() => null, (err: unknown) => err)
    expect(isAppError(literal) && literal.code).toBe('TARGET_NOT_ALLOWED')
    const { rows: open } = await t.database.db.query<{ n: number }>(
      `SELECT count(*) AS n FROM syncs WHERE source_id = ANY($1::uuid[]) AND status = 'running'`, [[viaName, viaLiteral]])
    expect(Number(open[0].n)).toBe(0)

    expect(store.requestCount()).toBe(before)
    expect(await ledgerKeys(viaName)).toEqual([])
    expect(await w.landed(viaName)).toEqual({})

    // the same source, with loopback allowed again, pulls normally: the refusal was the policy's
    expect((await pull(viaName)).status).toBe('succeeded')
    expect(store.requestCount()).toBeGreaterThan(before)
  })
})
