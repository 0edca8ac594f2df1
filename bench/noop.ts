/**
 * Benchmark 3 — no-op pull: a prefix of N objects that are all in the file ledger already, so the
 * pull lists every page, checks each page against the ledger and ingests nothing; against a bare
 * paginated ListObjectsV2 walk of the same prefix with the SDK (the floor: listing is unavoidable).
 *
 * Setup: the objects are written straight into s3rver's on-disk layout under 1,000-key folders
 * (s3rver walks its directory tree on every page; folders let it skip the pages already listed), and
 * the ledger is filled from one listing with a bulk INSERT — the state a source has after its first
 * pull, without spending minutes ingesting N tiny files first.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { startFerry } from './lib/ferry.js'
import { exists } from './lib/data.js'
import { placeObject } from './lib/s3.js'
import { startS3rverProcess } from './lib/s3.js'
import { compare, measure, timed } from './lib/stats.js'
import type { Benchmark, BenchContext, BenchOutcome } from './lib/types.js'

const PER_FOLDER = 1000

async function fixture (ctx: BenchContext, objects: number): Promise<string> {
  const dir = path.join(ctx.cacheDir, `s3-noop-${objects}`)
  if (await exists(path.join(dir, '.complete'))) return dir
  await fs.rm(dir, { recursive: true, force: true })
  const body = Buffer.from('sku,quantity\nX-1,1\n')
  const batch: Array<Promise<unknown>> = []
  for (let i = 0; i < objects; i++) {
    const folder = String(Math.floor(i / PER_FOLDER)).padStart(4, '0')
    batch.push(placeObject(dir, 'bench', `noop/${folder}/item-${String(i).padStart(7, '0')}.csv`, body))
    if (batch.length >= 256) await Promise.all(batch.splice(0))
    if (i % 20_000 === 0 && i > 0) ctx.log(`noop fixture: ${i} objects placed`)
  }
  await Promise.all(batch)
  await fs.writeFile(path.join(dir, '.complete'), '')
  return dir
}

/** Every key + ETag + size under the prefix, page by page (the baseline, and the ledger's source). */
async function walk (client: S3Client, prefix: string): Promise<Array<{ key: string, etag: string, size: number, lastModified: Date | null }>> {
  const out: Array<{ key: string, etag: string, size: number, lastModified: Date | null }> = []
  let token: string | undefined
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: 'bench', Prefix: prefix, ContinuationToken: token }))
    for (const o of res.Contents ?? []) out.push({ key: o.Key!, etag: o.ETag ?? '', size: o.Size ?? 0, lastModified: o.LastModified ?? null })
    token = res.IsTruncated ? res.NextContinuationToken : undefined
  } while (token)
  return out
}

export const noopBenchmark: Benchmark = {
  id: 'noop',
  title: '3. No-op pull over a large prefix vs a bare ListObjectsV2 walk',
  async run (ctx): Promise<BenchOutcome> {
    const objects = ctx.quick ? 5_000 : 100_000
    const s3 = await startS3rverProcess({ directory: await fixture(ctx, objects), buckets: ['bench'] })
    const f = await startFerry()
    const ferry: number[] = []
    const sdk: number[] = []
    try {
      const client = s3.client()
      const listed = await walk(client, 'noop/') // also warms s3rver's page cache for both contenders
      if (listed.length !== objects) throw new Error(`s3rver lists ${listed.length} objects, expected ${objects}`)
      const source = await f.addS3Source({ endpoint: s3.endpoint, bucket: 'bench', prefix: 'noop/' })
      for (let i = 0; i < listed.length; i += 5000) {
        const slice = listed.slice(i, i + 5000)
        await f.deps.db.query(
          `INSERT INTO source_files (source_id, key, etag, size, last_modified, status)
           SELECT $1, k, e, s, m, 'ingested' FROM unnest($2::text[], $3::text[], $4::bigint[], $5::timestamptz[]) AS t(k, e, s, m)`,
          [source.id, slice.map(o => o.key), slice.map(o => o.etag), slice.map(o => o.size), slice.map(o => o.lastModified)])
      }
      for (let i = 0; i < ctx.runs; i++) {
        const pulled = await timed(() => f.pull(source.id))
        const sync = pulled.value
        if (sync.status !== 'succeeded' || sync.filesCount !== 0 || sync.manifest.length !== 0) {
          throw new Error(`the no-op pull was not a no-op: ${sync.status}, ${sync.filesCount} files, ${sync.manifest.length} manifest entries`)
        }
        ferry.push(pulled.ms)
        const baseline = await timed(() => walk(client, 'noop/'))
        if (baseline.value.length !== objects) throw new Error(`the walk listed ${baseline.value.length} objects`)
        sdk.push(baseline.ms)
        ctx.log(`noop run ${i + 1}: ferry ${Math.round(pulled.ms)} ms, sdk walk ${Math.round(baseline.ms)} ms`)
      }
    } finally {
      await f.close()
      await s3.close()
    }
    const mFerry = measure('ferry.ms', `Ferry no-op pull (${objects.toLocaleString('en-US')} objects listed and checked against the ledger, nothing new)`,
      'ms', ferry)
    const mSdk = measure('sdk.ms', 'Bare paginated ListObjectsV2 walk (AWS SDK v3, same prefix)', 'ms', sdk)
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { objects, pages: Math.ceil(objects / 1000), runs: ctx.runs },
      measures: [mFerry, mSdk],
      comparisons: [compare('Ferry time ÷ bare listing time', mFerry, mSdk, { text: '≤ 1.2×', test: r => r <= 1.2 })],
      notes: ['s3rver answers each page by walking its directory tree, so both contenders pay the same per-page server cost; ' +
        'the difference is Ferry\'s own work (ledger lookup per page, sync record, vault decrypt, lease).'],
    }
  },
}
