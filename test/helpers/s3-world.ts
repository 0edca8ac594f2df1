import { PutObjectCommand } from '@aws-sdk/client-s3'
import { expect } from 'vitest'
import { createTestApp, type TestApp } from './app.js'
import { startFaultProxy, type FaultProxy } from './fault-proxy.js'
import { startS3rver, type S3rverHandle } from './s3.js'

/**
 * What the pull tests that need a misbehaving S3 share: s3rver with one bucket behind a fault
 * proxy, a test runtime that may reach loopback, an agent without auto-pull and an aws secret for
 * s3rver. `cleanup` runs a test's own teardown (killed processes, temp dirs) before the rest.
 */
export interface S3World {
  t: TestApp
  store: S3rverHandle
  proxy: FaultProxy
  agentId: string
  secretId: string
  put(key: string, body: string): Promise<unknown>
  /** an S3 inventory source on `prefix`, through the proxy unless `endpoint` says otherwise */
  newSource(prefix: string, options?: { endpoint?: string, config?: Record<string, unknown>, extra?: Record<string, unknown> }): Promise<string>
  /** uploads and item rows per file name of a source: a file ingested twice would show 2 uploads */
  landed(sourceId: string): Promise<Record<string, { uploads: number, rows: number }>>
  cleanup(fn: () => Promise<unknown>): void
  close(): Promise<void>
}

/** A CSV of `rows` inventory rows with SKUs `<prefix>-1`, `<prefix>-2`, … */
export const numberedCsv = (prefix: string, rows: number): string =>
  'sku,name,quantity\n' + Array.from({ length: rows }, (_, i) => `${prefix}-${i + 1},item number ${i + 1} of ${rows},${i}\n`).join('')

export async function startS3World (options: { bucket: string, name: string, env?: Record<string, string> }): Promise<S3World> {
  const { bucket, name } = options
  const store = await startS3rver({ buckets: [bucket] })
  const proxy = await startFaultProxy(store.endpoint)
  const t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', ...options.env } })
  const agentId = (await t.api('POST', '/api/v1/agents', { body: { name, rules: { autoPull: false } } })).json().id as string
  const secret = await t.api('POST', '/api/v1/secrets', {
    body: { name: 's3rver', type: 'aws', value: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey } },
  })
  expect(secret.statusCode, secret.body).toBe(201)
  const secretId = secret.json().id as string
  const cleanups: Array<() => Promise<unknown>> = []
  return {
    t,
    store,
    proxy,
    agentId,
    secretId,
    put: (key, body) => store.client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })),
    async newSource (prefix, { endpoint = proxy.endpoint, config = {}, extra = {} } = {}) {
      const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
        body: {
          name: `${name} ${prefix}`, role: 'INVENTORY_SOURCE', type: 's3',
          config: { bucket, prefix, region: 'us-east-1', secretRef: secretId, endpoint, forcePathStyle: true, ...config },
          ...extra,
        },
      })
      expect(res.statusCode, res.body).toBe(201)
      return res.json().id as string
    },
    async landed (sourceId) {
      const { rows } = await t.database.db.query<{ file_name: string, uploads: number, rows: number }>(
        `SELECT u.file_name, count(DISTINCT u.id) AS uploads, count(i.upload_seq) AS rows
         FROM inventory_uploads u LEFT JOIN inventory_items i ON i.upload_seq = u.seq
         WHERE u.source_id = $1 GROUP BY u.file_name`, [sourceId])
      return Object.fromEntries(rows.map(r => [r.file_name, { uploads: Number(r.uploads), rows: Number(r.rows) }]))
    },
    cleanup: fn => { cleanups.push(fn) },
    async close () {
      for (const c of cleanups.reverse()) await c().catch(() => {})
      await t.close()
      await proxy.close()
      await store.close()
    },
  }
}
