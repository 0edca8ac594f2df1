import type { Readable } from 'node:stream'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { RemoteFile } from '../../src/connectors/remote-file.js'
import { S3Transport } from '../../src/kinds/s3/transport.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

// How many files one pull reads at once (src/sync/file-pool.ts): FERRY_PULL_FILE_CONCURRENCY
// small files, fewer big ones (FERRY_PULL_BYTES_IN_FLIGHT). Counted on the real S3 transport
// against s3rver: a file is in flight from its GetObject until its body is closed, which happens
// inside the file's task, so the count never exceeds the files the pull runs at once.

let t: TestApp
let s3: S3rverHandle
let agentId: string
let secretId: string
const BUCKET = 'pull-concurrency'

beforeAll(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] })
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'conc', rules: { autoMap: false } } })).json().id
  secretId = (await t.api('POST', '/api/v1/secrets', {
    body: { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
  })).json().id
})
afterEach(() => { vi.restoreAllMocks() })
afterAll(async () => {
  await t?.close()
  await s3?.close()
})

/** n CSV files of `rows` rows each (every row 12 bytes) under prefix; returns the size of one */
async function putFiles (prefix: string, n: number, rows: number): Promise<number> {
  let size = 0
  for (let i = 0; i < n; i++) {
    let body = 'sku,quantity\n'
    for (let r = 0; r < rows; r++) body += `${String(i).padStart(3, '0')}-${String(r).padStart(5, '0')},1\n`
    size = body.length
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}f-${String(i).padStart(3, '0')}.csv`, Body: body }))
  }
  return size
}

/**
 * Pulls the prefix with the given limits and returns the most files that were in flight at once.
 * Each GetObject answers a little late, so every file the pool lets start has started before the
 * first one ends.
 */
async function pullCountingFiles (prefix: string, limits: { files: number, bytes: number }) {
  const source = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
    body: {
      name: prefix, role: 'INVENTORY_SOURCE', type: 's3',
      config: { bucket: BUCKET, prefix, region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true, format: 'csv' },
    },
  })
  expect(source.statusCode, source.body).toBe(201)
  let inFlight = 0
  let most = 0
  const open = S3Transport.prototype.open
  vi.spyOn(S3Transport.prototype, 'open').mockImplementation(async function (this: S3Transport, file: RemoteFile, signal?: AbortSignal): Promise<Readable> {
    most = Math.max(most, ++inFlight)
    await new Promise(resolve => setTimeout(resolve, 50))
    const body = await open.call(this, file, signal).catch((err: unknown) => { inFlight--; throw err })
    body.once('close', () => { inFlight-- })
    return body
  })
  const config = t.config as { pullFileConcurrency: number, pullBytesInFlight: number }
  const saved = { files: config.pullFileConcurrency, bytes: config.pullBytesInFlight }
  config.pullFileConcurrency = limits.files
  config.pullBytesInFlight = limits.bytes
  try {
    const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${source.json().id as string}/pull?wait=true`)
    expect(res.statusCode, res.body).toBe(200)
    return { sync: res.json(), most }
  } finally {
    config.pullFileConcurrency = saved.files
    config.pullBytesInFlight = saved.bytes
  }
}

describe('files in flight during a pull', () => {
  it('runs small files as many at once as FERRY_PULL_FILE_CONCURRENCY says', async () => {
    const size = await putFiles('small/', 16, 10)
    const { sync, most } = await pullCountingFiles('small/', { files: 8, bytes: 16 * size })
    expect(sync).toMatchObject({ status: 'succeeded', filesCount: 16, rowsAccepted: 160 })
    expect(most).toBe(8)
  })

  it('runs big files fewer at once: their listed sizes together stay within FERRY_PULL_BYTES_IN_FLIGHT', async () => {
    const size = await putFiles('big/', 6, 1000)
    const { sync, most } = await pullCountingFiles('big/', { files: 8, bytes: Math.floor(2.5 * size) })
    expect(sync).toMatchObject({ status: 'succeeded', filesCount: 6, rowsAccepted: 6000 })
    expect(most).toBe(2)
  })

  it('runs a file bigger than FERRY_PULL_BYTES_IN_FLIGHT alone', async () => {
    const size = await putFiles('bigger/', 3, 1000)
    const { sync, most } = await pullCountingFiles('bigger/', { files: 8, bytes: Math.floor(size / 2) })
    expect(sync).toMatchObject({ status: 'succeeded', filesCount: 3, rowsAccepted: 3000 })
    expect(most).toBe(1)
  })
})
