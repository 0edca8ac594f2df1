import { PassThrough, Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getAgent } from '../../src/db/sql/agents.js'
import { expiredUploads } from '../../src/db/sql/retention.js'
import { AppError } from '../../src/errors.js'
import { ROW_BATCH } from '../../src/formats/index.js'
import { InventoryPipeline, type IngestInput } from '../../src/pipeline/ingest.js'
import { STAGING_LEASE_SECONDS, purgeAbandonedUploads } from '../../src/retention/staged.js'
import { PULL_QUEUE } from '../../src/sync/queue.js'
import { pullSource } from '../../src/sync/pull.js'
import type { TestApp } from '../helpers/app.js'
import { makeZip } from '../fixtures/formats/zip.js'
import { backend } from '../helpers/db.js'
import { s3 as match, type FaultProxy } from '../helpers/fault-proxy.js'
import { spawnPullChild } from '../helpers/process.js'
import { numberedCsv as csv, startS3World, type S3World } from '../helpers/s3-world.js'

/**
 * Short ingest transactions (issue #20, docs/decisions.md): a file bigger than one chunk is staged
 * chunk by chunk, each chunk its own short transaction, under an upload no reader sees; one short
 * final transaction publishes it with the caller's rows. Chunks of 10 rows here, so small files
 * stand for big ones.
 */

const CHUNK = 10
const BUCKET = 'staged-ingest'
const LEASE_SECONDS = 2

let w: S3World
let t: TestApp
let proxy: FaultProxy
let agentId: string

beforeAll(async () => {
  w = await startS3World({ bucket: BUCKET, name: 'staged-ingest', env: { FERRY_PULL_LEASE_SECONDS: String(LEASE_SECONDS) } })
  ;({ t, proxy, agentId } = w)
  // the pulls here are run by the tests themselves
  await t.runtime.deps.boss.offWork(PULL_QUEUE)
})
afterAll(async () => { await w?.close() })

const db = () => t.database.db
const count = async (text: string, params: unknown[] = []) => Number((await db().query<{ n: string }>(text, params)).rows[0].n)
const stagedUploads = () => count('SELECT count(*) AS n FROM inventory_uploads WHERE staged_until IS NOT NULL')
const orphanItems = () => count('SELECT count(*) AS n FROM inventory_items i WHERE NOT EXISTS (SELECT 1 FROM inventory_uploads u WHERE u.seq = i.upload_seq)')
const uploadsNamed = (name: string) => count('SELECT count(*) AS n FROM inventory_uploads WHERE file_name = $1', [name])
const pipeline = (options: { maxRows?: number, signal?: AbortSignal } = {}) => new InventoryPipeline({
  limits: { ...t.config.limits, ...(options.maxRows ? { maxRows: options.maxRows } : {}) }, chunkRows: CHUNK, signal: options.signal,
})

async function input (fileName: string, stream: NodeJS.ReadableStream): Promise<IngestInput> {
  const { rows } = await db().query<{ org_id: string }>('SELECT org_id FROM agents WHERE id = $1', [agentId])
  const agent = (await getAgent(db(), rows[0].org_id, agentId))!
  return { orgId: rows[0].org_id, agent, stream: stream as IngestInput['stream'], fileName }
}

/** A body written by the test: `rows` rows now, the stream left open until `end()`. */
function openBody (prefix: string, rows: number): PassThrough & { more (from: number, n: number): void } {
  const body = new PassThrough() as PassThrough & { more (from: number, n: number): void }
  body.more = (from, n) => { body.write(Array.from({ length: n }, (_, i) => `${prefix}-${from + i},item,${i}\n`).join('')) }
  body.write('sku,name,quantity\n')
  body.more(1, rows)
  return body
}

describe('short ingest transactions', () => {
  it('readers never see a staged upload or its items; queries run between the chunks of a file still being read', async () => {
    // the parser sniffs the head and hands rows over ROW_BATCH at a time: ten batches now, a few rows more at the end
    const body = openBody('S', 10 * ROW_BATCH)
    let finished = false
    const landing = pipeline().ingestAll(db(), await input('staged.csv', body)).finally(() => { finished = true })
    // chunks are staged while the stream stays open
    await expect.poll(() => count('SELECT count(*) AS n FROM inventory_items i JOIN inventory_uploads u ON u.seq = i.upload_seq WHERE u.file_name = $1',
      ['staged.csv'])).toBeGreaterThan(0)
    const [staged] = (await db().query<{ id: string, seq: number }>('SELECT id, seq FROM inventory_uploads WHERE file_name = $1', ['staged.csv'])).rows
    // on PGlite (one connection) these queries completing at all shows the connection is free between chunks
    const list = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads`)
    expect(list.statusCode).toBe(200)
    expect(list.json().items.map((u: { id: string }) => u.id)).not.toContain(staged.id)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${staged.id}`)).statusCode).toBe(404)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${staged.id}/items`)).statusCode).toBe(404)
    expect((await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: staged.id } })).statusCode).toBe(404)
    expect((await expiredUploads(db(), new Date(Date.now() + 86_400_000), 100)).map(u => u.id)).not.toContain(staged.id)
    // a live staging lease is not swept
    expect(await purgeAbandonedUploads(db())).toBe(0)
    expect(finished).toBe(false)

    body.more(10 * ROW_BATCH + 1, 5)
    body.end()
    const [{ result }] = await landing
    expect(result!.upload).toMatchObject({ id: staged.id, status: 'ingested', rowsAccepted: 10 * ROW_BATCH + 5 })
    expect(await count('SELECT count(DISTINCT sku) AS n FROM inventory_items WHERE upload_seq = $1', [staged.seq])).toBe(10 * ROW_BATCH + 5)
    const items = (await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${staged.id}/items?limit=3`)).json().items
    expect(items.map((i: { sku: string }) => i.sku)).toEqual(['S-1', 'S-2', 'S-3'])
    expect(await stagedUploads()).toBe(0)
  })

  it('a file refused mid-way (TOO_MANY_ROWS after chunks were staged) records its rejected upload and keeps none of its rows', async () => {
    const [{ result }] = await pipeline({ maxRows: 2 * ROW_BATCH + 5 })
      .ingestAll(db(), await input('too-many.csv', openBody('T', 3 * ROW_BATCH).end() as PassThrough))
    expect(result!.upload).toMatchObject({ status: 'rejected', rowsAccepted: 0, error: { code: 'TOO_MANY_ROWS' } })
    expect(await count('SELECT count(*) AS n FROM inventory_items WHERE upload_seq = $1', [result!.upload.seq])).toBe(0)
    expect(await uploadsNamed('too-many.csv')).toBe(1)
    expect(await stagedUploads()).toBe(0)
    expect(await orphanItems()).toBe(0)
  })

  it('a zip archive: every member staged, then all published together; a refused member keeps no rows', async () => {
    const rows = (prefix: string, n: number) => 'sku,name,quantity\n' + Array.from({ length: n }, (_, i) => `${prefix}-${i + 1},item,${i}\n`).join('')
    const zip = makeZip([
      { name: 'a.csv', data: Buffer.from(rows('ZA', 1500)) },
      { name: 'b.csv', data: Buffer.from(rows('ZB', 2500)) },
      { name: 'c.csv', data: Buffer.from(rows('ZC', 1500)) },
    ])
    const outcomes = await pipeline({ maxRows: 2000 }).ingestAll(db(), await input('drop.zip', Readable.from([zip])))
    expect(outcomes.map(o => [o.member, o.result?.upload.status, o.result?.upload.rowsAccepted])).toEqual([
      ['a.csv', 'ingested', 1500], ['b.csv', 'rejected', 0], ['c.csv', 'ingested', 1500],
    ])
    for (const o of outcomes) {
      expect(await count('SELECT count(*) AS n FROM inventory_items WHERE upload_seq = $1', [o.result!.upload.seq])).toBe(o.result!.upload.rowsAccepted)
    }
    expect(await stagedUploads()).toBe(0)
    expect(await orphanItems()).toBe(0)
  })

  it('the publishing transaction failing leaves nothing visible and purges the staged rows', async () => {
    const failing = pipeline().ingestAll(db(), await input('unpublished.csv', openBody('U', 30).end() as PassThrough), async () => {
      throw new AppError('LEASE_LOST')
    })
    await expect(failing).rejects.toMatchObject({ code: 'LEASE_LOST' })
    expect(await uploadsNamed('unpublished.csv')).toBe(0)
    expect(await stagedUploads()).toBe(0)
    expect(await orphanItems()).toBe(0)
  })

  it('a pull whose lease is taken over while it publishes a staged file lands nothing; the next pull lands it once', async () => {
    await w.put('fenced/big.csv', csv('F', 45))
    const sourceId = await w.newSource('fenced/')
    // another worker takes the lease over just before the fence is checked (in the publishing transaction)
    const stealing = new InventoryPipeline({
      limits: t.config.limits,
      chunkRows: CHUNK,
      afterIngest: [async (tx) => { await tx.query(`UPDATE data_sources SET lease_token = gen_random_uuid() WHERE id = $1`, [sourceId]) }],
    })
    await expect(pullSource({ ...t.runtime.deps, pipeline: stealing }, { sourceId, trigger: 'manual' })).rejects.toMatchObject({ code: 'LEASE_LOST' })
    expect(await w.landed(sourceId)).toEqual({})
    expect(await stagedUploads()).toBe(0)
    expect(await orphanItems()).toBe(0)
    await db().query('UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1', [sourceId])
    const next = await pullSource({ ...t.runtime.deps, pipeline: pipeline() }, { sourceId, trigger: 'manual' })
    expect(next.manifest.map(e => [e.key, e.status])).toEqual([['fenced/big.csv', 'ingested']])
    expect(await w.landed(sourceId)).toEqual({ 'big.csv': { uploads: 1, rows: 45 } })
  })

  it('a file cut off by the shutdown gives its staged rows up; the sweep purges them; a lapsed lease cannot be published', async () => {
    const controller = new AbortController()
    const body = openBody('D', 10 * ROW_BATCH)
    const landing = pipeline({ signal: controller.signal }).ingestAll(db(), await input('stopped.csv', body))
    await expect.poll(stagedUploads).toBe(1)
    controller.abort()
    await expect(landing).rejects.toMatchObject({ code: 'SHUTTING_DOWN' })
    // given up in one statement (its lease set in the past): the sweep's next run takes it
    expect(await uploadsNamed('stopped.csv')).toBe(1)
    expect(await purgeAbandonedUploads(db())).toBe(1)
    expect(await uploadsNamed('stopped.csv')).toBe(0)
    expect(await orphanItems()).toBe(0)

    // a stalled ingest whose lease lapsed and was swept cannot publish what is left of it
    const stalled = openBody('L', 10 * ROW_BATCH)
    // it fails at its next chunk or at its publish, whichever comes first
    const late = pipeline().ingestAll(db(), await input('lapsed.csv', stalled)).catch((err: unknown) => err)
    await expect.poll(stagedUploads).toBe(1)
    expect(await purgeAbandonedUploads(db(), { asOf: new Date(Date.now() + (STAGING_LEASE_SECONDS + 60) * 1000) })).toBe(1)
    stalled.end()
    expect(await late).toMatchObject({ code: 'STAGING_LOST' })
    expect(await uploadsNamed('lapsed.csv')).toBe(0)
    expect(await orphanItems()).toBe(0)
  })

  it.skipIf(backend() === 'pglite')('a worker SIGKILLed mid-file leaves an unpublished upload that the sweep purges; the next pull lands the file once',
    async () => {
      await w.put('killed/huge.csv', csv('K', 5000))
      const sourceId = await w.newSource('killed/')
      // the child gets the first 64 KiB of the file (about 1,500 rows), then nothing: killed mid-file with chunks staged
      const stall = proxy.plan(match.getObject(BUCKET, 'killed/huge.csv'), { kind: 'stall', afterBytes: 64 * 1024 })
      const { child, exited, whileAlive } = await spawnPullChild({
        databaseUrl: t.database.url!, sourceId, leaseSeconds: LEASE_SECONDS, chunkRows: 100, cleanup: w.cleanup,
      })
      await whileAlive(stall.reached())
      await expect.poll(() => count('SELECT count(*) AS n FROM inventory_uploads WHERE source_id = $1 AND staged_until IS NOT NULL', [sourceId]))
        .toBe(1)
      child.kill('SIGKILL')
      expect(await exited).toBe('SIGKILL')
      // invisible meanwhile
      const list = (await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads?limit=100`)).json().items as Array<{ fileName: string }>
      expect(list.map(u => u.fileName)).not.toContain('huge.csv')
      // its staging lease is still running: the sweep leaves it until it lapses
      expect(await purgeAbandonedUploads(db())).toBe(0)
      expect(await purgeAbandonedUploads(db(), { asOf: new Date(Date.now() + (STAGING_LEASE_SECONDS + 60) * 1000) })).toBe(1)
      expect(await w.landed(sourceId)).toEqual({})
      expect(await orphanItems()).toBe(0)

      proxy.clear()
      const next = await pullSource(t.runtime.deps, { sourceId, trigger: 'manual', leaseWaitMs: 30_000 })
      expect(next.manifest.map(e => [e.key, e.status])).toEqual([['killed/huge.csv', 'ingested']])
      expect(await w.landed(sourceId)).toEqual({ 'huge.csv': { uploads: 1, rows: 5000 } })
      expect((await pullSource(t.runtime.deps, { sourceId, trigger: 'manual' })).manifest).toEqual([])
    })
})
