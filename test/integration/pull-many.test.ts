import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROGRESS_INTERVAL_MS } from '../../src/sync/progress.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

// A pull of many files: each file's manifest entry is appended in its own transaction (a row of
// sync_manifest_entries), the sync's counters are recomputed from the entries, and progress is
// written at most once per interval.

let t: TestApp
let s3: S3rverHandle
let agentId: string
let secretId: string
const BUCKET = 'many-files'

interface Entry {
  key: string
  etag: string
  size: number
  format: string | null
  status: string
  rowsAccepted: number
  rowsRejected: number
  uploadId?: string
  errors?: Array<{ row?: number, message: string }>
  reason?: string
}

/** n CSV files under prefix; every 7th has one row without a sku */
async function putFiles (prefix: string, n: number): Promise<Map<string, { body: string, rejected: number }>> {
  const files = new Map<string, { body: string, rejected: number }>()
  for (let i = 0; i < n; i++) {
    const rejected = i % 7 === 0 ? 1 : 0
    const body = `sku,quantity\n${prefix}${i}-a,1\n${prefix}${i}-b,2\n${rejected ? ',3\n' : ''}`
    const key = `${prefix}f-${String(i).padStart(3, '0')}.csv`
    files.set(key, { body, rejected })
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))
  }
  return files
}

async function createSource (prefix: string): Promise<string> {
  const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
    body: {
      name: prefix, role: 'INVENTORY_SOURCE', type: 's3',
      config: { bucket: BUCKET, prefix, region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
    },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id
}

async function pull (sourceId: string): Promise<{ sync: Record<string, unknown> & { manifest: Entry[] }, progressWrites: number, ms: number }> {
  // counts the progress writes of this pull (they go through the pool, not a file's transaction)
  const db = t.database.db
  const query = db.query
  let progressWrites = 0
  db.query = ((text: string, params?: readonly unknown[]) => {
    if (/SET progress = \$2/.test(text)) progressWrites++
    return query.call(db, text, params)
  }) as typeof db.query
  const started = Date.now()
  try {
    const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`)
    expect(res.statusCode, res.body).toBe(200)
    return { sync: res.json(), progressWrites, ms: Date.now() - started }
  } finally {
    db.query = query
  }
}

function expectEntries (manifest: Entry[], files: Map<string, { body: string, rejected: number }>): void {
  expect(manifest).toHaveLength(files.size)
  expect(new Set(manifest.map(e => e.key)).size).toBe(files.size)
  for (const e of manifest) {
    const file = files.get(e.key)!
    expect(file, e.key).toBeDefined()
    expect(e).toMatchObject({ size: Buffer.byteLength(file.body), format: 'csv', status: 'ingested', rowsAccepted: 2, rowsRejected: file.rejected })
    expect(e.etag).toMatch(/^"?[0-9a-f]{32}"?$/)
    expect(e.uploadId).toMatch(/^[0-9a-f-]{36}$/)
    if (file.rejected) expect(e.errors).toEqual([{ row: 4, message: 'sku is missing' }])
    else expect(e).not.toHaveProperty('errors')
  }
}

const totals = (files: Map<string, { body: string, rejected: number }>) => ({
  filesCount: files.size,
  bytes: [...files.values()].reduce((n, f) => n + Buffer.byteLength(f.body), 0),
  rowsAccepted: files.size * 2,
  rowsRejected: [...files.values()].reduce((n, f) => n + f.rejected, 0),
})

beforeAll(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] })
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'many', rules: { autoMap: false } } })).json().id
  secretId = (await t.api('POST', '/api/v1/secrets', {
    body: { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
  })).json().id
})
afterAll(async () => {
  await t?.close()
  await s3?.close()
})

describe('a pull of many files', () => {
  it('keeps every entry in the order the files were taken, with the sync counters as their sums', async () => {
    const files = await putFiles('ordered/', 60)
    // sorts before the CSV files: recorded as skipped before any file is taken
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ordered/0-notes.pdf', Body: '%PDF-1.4' }))
    const sourceId = await createSource('ordered/')
    // one file at a time: the order the files are taken is the listing's (key) order
    const config = t.config as { pullFileConcurrency: number }
    const concurrency = config.pullFileConcurrency
    config.pullFileConcurrency = 1
    let result
    try {
      result = await pull(sourceId)
    } finally {
      config.pullFileConcurrency = concurrency
    }
    const { sync } = result
    expect(sync).toMatchObject({ status: 'succeeded', progress: null, ...totals(files) })
    expect(sync.manifest[0]).toMatchObject({
      key: 'ordered/0-notes.pdf', status: 'skipped', format: null, rowsAccepted: 0, rowsRejected: 0, reason: 'unsupported file type ".pdf"',
    })
    const taken = sync.manifest.slice(1)
    expect(taken.map(e => e.key)).toEqual([...files.keys()])
    expectEntries(taken, files)

    // the sync as the API shows it later: the same manifest, the same counters; the list has no manifest
    const again = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sourceId}/syncs/${sync.id as string}`)).json()
    expect(again).toEqual(sync)
    const list = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sourceId}/syncs`)).json()
    expect(list.items).toHaveLength(1)
    expect(list.items[0]).not.toHaveProperty('manifest')
    expect(list.items[0]).toMatchObject(totals(files))
  })

  it('takes concurrent files exactly once each and writes progress at most once per interval', async () => {
    const files = await putFiles('concurrent/', 80)
    const sourceId = await createSource('concurrent/')
    const { sync, progressWrites, ms } = await pull(sourceId)
    expect(sync).toMatchObject({ status: 'succeeded', progress: null, ...totals(files) })
    expectEntries(sync.manifest, files)
    // one write at the start, then at most one per interval, and the final one
    expect(progressWrites).toBeGreaterThanOrEqual(2)
    expect(progressWrites).toBeLessThanOrEqual(Math.ceil(ms / PROGRESS_INTERVAL_MS) + 2)
    expect(progressWrites).toBeLessThan(files.size)

    const second = await pull(sourceId)
    expect(second.sync).toMatchObject({ status: 'succeeded', filesCount: 0, rowsAccepted: 0, bytes: 0, manifest: [] })
  })
})
