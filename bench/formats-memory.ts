/**
 * Benchmark 4b — memory of the new formats (docs/formats.md): the peak RSS of a worker process
 * (bench/lib/pull-child.mjs) pulling one large zip archive (two big CSV members) and one large Parquet
 * file from s3rver into PostgreSQL. Target as for CSV and XLSX: ≤ 300 MB on a 1 GB input of each.
 * Run with `npm run bench -- --only=formats-memory` (not in CI: it writes ~2 GB of fixtures).
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import archiver from 'archiver'
import { ParquetWriter, fileWriter, schemaFromColumnData } from 'hyparquet-writer'
import { cachedCsv, cachedFile, type CachedFile } from './lib/data.js'
import { pullPeaks } from './lib/peak-rss.js'
import { linkObject, startS3rverProcess } from './lib/s3.js'
import { absolute, measure } from './lib/stats.js'
import type { Benchmark, BenchContext, BenchOutcome } from './lib/types.js'

const MB = 1024 * 1024
/** rows per Parquet row group: pyarrow's default is larger (1 M); this is what most exporters write */
const ROW_GROUP = 100_000

const row = (i: number) => `SKU-${i},Widget ${i},${i % 500},${(i % 1000) / 10},EUR,WH-${i % 7},${randomBytes(60).toString('base64')}`

/** A zip (deflate) of two CSV members of about `targetBytes` in all, compressed. */
async function cachedZip (ctx: BenchContext, targetBytes: number): Promise<CachedFile> {
  return cachedFile(ctx.cacheDir, `formats-${Math.round(targetBytes / MB)}mb.zip`, async (to) => {
    // random base64 compresses ~1.3:1, so the members are a little larger than the target in all
    const rows = Math.round(targetBytes * 1.3 / 2 / (row(1_000_000).length + 1))
    const header = 'sku,name,quantity,price,currency,location,description'
    const a = await cachedCsv(ctx.cacheDir, `formats-zip-a-${rows}.csv`, header, rows, row)
    const b = await cachedCsv(ctx.cacheDir, `formats-zip-b-${rows}.csv`, header, rows, row)
    const zip = archiver('zip', { zlib: { level: 6 }, forceZip64: false })
    const out = createWriteStream(to)
    const done = new Promise<void>((resolve, reject) => { out.on('close', resolve); zip.on('error', reject) })
    zip.pipe(out)
    zip.file(a.file, { name: 'north.csv' })
    zip.file(b.file, { name: 'south/south.csv' })
    await zip.finalize()
    await done
    return a.rows + b.rows
  })
}

/** A Parquet file of about `targetBytes` (Snappy), written row group by row group. */
async function cachedParquet (ctx: BenchContext, targetBytes: number): Promise<CachedFile> {
  const group = (start: number, n: number) => [
    { name: 'sku', data: Array.from({ length: n }, (_, i) => `SKU-${start + i}`), type: 'STRING' as const },
    { name: 'name', data: Array.from({ length: n }, (_, i) => `Widget ${start + i}`), type: 'STRING' as const },
    { name: 'quantity', data: Array.from({ length: n }, (_, i) => BigInt((start + i) % 500)), type: 'INT64' as const },
    { name: 'price', data: Array.from({ length: n }, (_, i) => ((start + i) % 1000) / 10), type: 'DOUBLE' as const },
    { name: 'description', data: Array.from({ length: n }, () => randomBytes(90).toString('base64')), type: 'STRING' as const },
  ]
  return cachedFile(ctx.cacheDir, `formats-${Math.round(targetBytes / MB)}mb.parquet`, async (to) => {
    const writer = new ParquetWriter({ writer: fileWriter(to), schema: schemaFromColumnData({ columnData: group(0, 1) }) })
    let rows = 0
    while ((await fs.stat(to).then(s => s.size, () => 0)) < targetBytes) {
      writer.write({ columnData: group(rows, ROW_GROUP), rowGroupSize: ROW_GROUP })
      rows += ROW_GROUP
    }
    writer.finish()
    return rows
  })
}

export const formatsMemoryBenchmark: Benchmark = {
  id: 'formats-memory',
  title: '4b. Memory: peak RSS of a worker pulling a large zip archive and a large Parquet file',
  async run (ctx): Promise<BenchOutcome> {
    const target = ctx.quick ? 50 * MB : 1024 * MB
    const zip = await cachedZip(ctx, target)
    ctx.log(`formats fixtures: zip ${(zip.bytes / MB).toFixed(0)} MiB (${zip.rows} rows in 2 members)`)
    const parquet = await cachedParquet(ctx, target)
    ctx.log(`formats fixtures: Parquet ${(parquet.bytes / MB).toFixed(0)} MiB (${parquet.rows} rows, ${ROW_GROUP} per row group)`)
    const s3 = await startS3rverProcess({ directory: path.join(ctx.workDir, 's3-formats'), buckets: ['bench'] })
    await linkObject(s3.directory, 'bench', 'formats-zip/inventory.zip', zip.file, zip.md5, 'application/zip')
    await linkObject(s3.directory, 'bench', 'formats-parquet/inventory.parquet', parquet.file, parquet.md5, 'application/vnd.apache.parquet')
    const cases = [['zip', 'formats-zip/', zip.rows], ['parquet', 'formats-parquet/', parquet.rows]] as const
    // the members of a 1 GB zip of CSVs inflate past the 1 GiB default of the archive guard: an operator
    // who receives such archives raises it, as here (docs/formats.md)
    const env = { FERRY_XLSX_MAX_UNCOMPRESSED_BYTES: String(4 * 1024 * MB) }
    const { rss, secs } = await pullPeaks(ctx, { endpoint: s3.endpoint, cases, env, label: 'formats memory' }).finally(() => s3.close())
    const size = (f: CachedFile) => `${(f.bytes / MB).toFixed(0)} MiB`
    const mZip = measure('zip.maxRss', `Peak RSS pulling a ${size(zip)} zip of two CSVs (${zip.rows.toLocaleString('en-US')} rows)`, 'bytes', rss.zip)
    const parquetRows = parquet.rows.toLocaleString('en-US')
    const mParquet = measure('parquet.maxRss', `Peak RSS pulling a ${size(parquet)} Parquet file (${parquetRows} rows)`, 'bytes', rss.parquet)
    const tZip = measure('zip.ms', 'Duration of that zip pull (for reference)', 'ms', secs.zip)
    const tParquet = measure('parquet.ms', 'Duration of that Parquet pull (for reference)', 'ms', secs.parquet)
    const limit = { text: '≤ 300 MB', test: (v: number) => v <= 300 * 1e6 }
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { zipBytes: zip.bytes, zipRows: zip.rows, parquetBytes: parquet.bytes, parquetRows: parquet.rows, rowGroup: ROW_GROUP, runs: ctx.runs },
      measures: [mZip, mParquet, tZip, tParquet],
      comparisons: [absolute('zip pull peak RSS', mZip, limit), absolute('Parquet pull peak RSS', mParquet, limit)],
      notes: [
        `Parquet: ${ROW_GROUP.toLocaleString('en-US')} rows per row group, read column by column; the columns whose pages are indexed are ` +
        'decoded in ~4 MiB slices, the others once per group (docs/formats.md).',
        'The pull child starts as `ferry serve` does, with its V8 heap flags (src/heap.ts, docs/decisions.md "Memory of a pull").',
      ],
    }
  },
}
