/**
 * Benchmark 4 — memory: the peak RSS of a worker process (bench/lib/pull-child.mjs, started like
 * `ferry serve --role worker`) pulling one large CSV object and one large XLSX object from s3rver
 * into PostgreSQL. The figure is the child's own process.resourceUsage().maxRSS.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import ExcelJS from 'exceljs'
import { cachedCsv, cachedFile, type CachedFile } from './lib/data.js'
import { pullPeaks } from './lib/peak-rss.js'
import { linkObject, startS3rverProcess } from './lib/s3.js'
import { absolute, measure } from './lib/stats.js'
import type { Benchmark, BenchContext, BenchOutcome } from './lib/types.js'

const MB = 1024 * 1024
const DESCRIPTION = 'Stainless steel hex bolt, zinc plated, DIN 933, for indoor and outdoor use; packed in boxes of 100 pieces'

/** ~200-byte rows: an inventory line with a description, as real exports have. */
const wideRow = (i: number) => `SKU-${i},Widget ${i},${i % 500},${(i % 1000) / 10},EUR,WH-${i % 7},"${DESCRIPTION} #${i}"`

/** An XLSX of about `targetBytes` (random text, so it compresses like real data, not like zeros). */
export async function cachedXlsx (ctx: BenchContext, targetBytes: number): Promise<CachedFile> {
  const write = async (rows: number, to: string) => {
    const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: to, useSharedStrings: false, useStyles: false })
    const ws = wb.addWorksheet('Inventory')
    ws.addRow(['sku', 'name', 'quantity', 'price', 'currency', 'location', 'description']).commit()
    for (let i = 1; i <= rows; i++) {
      ws.addRow([
        `SKU-${i}`, `Widget ${randomBytes(9).toString('base64')}`, i % 500, (i % 1000) / 10, 'EUR', `WH-${i % 7}`, randomBytes(120).toString('base64')
      ]).commit()
    }
    ws.commit()
    await wb.commit()
    return (await fs.stat(to)).size
  }
  return cachedFile(ctx.cacheDir, `memory-${Math.round(targetBytes / MB)}mb.xlsx`, async (to) => {
    // size a sample, then write the real file with the row count that lands near the target
    const sampleRows = 5000
    const sampleBytes = await write(sampleRows, `${to}.sample`)
    await fs.rm(`${to}.sample`)
    const rows = Math.max(1000, Math.round(sampleRows * targetBytes / sampleBytes))
    await write(rows, to)
    return rows
  })
}

export const memoryBenchmark: Benchmark = {
  id: 'memory',
  title: '4. Memory: peak RSS of a worker pulling a large CSV and a large XLSX',
  async run (ctx): Promise<BenchOutcome> {
    const csvTarget = ctx.quick ? 50 * MB : 1024 * MB
    const xlsxTarget = ctx.quick ? 10 * MB : 100 * MB
    const csvRows = Math.round(csvTarget / (wideRow(1_000_000).length + 1))
    const csv = await cachedCsv(ctx.cacheDir, `memory-${csvRows}.csv`, 'sku,name,quantity,price,currency,location,description', csvRows, wideRow)
    ctx.log(`memory fixtures: CSV ${(csv.bytes / MB).toFixed(0)} MiB (${csv.rows} rows)`)
    const xlsx = await cachedXlsx(ctx, xlsxTarget)
    ctx.log(`memory fixtures: XLSX ${(xlsx.bytes / MB).toFixed(0)} MiB (${xlsx.rows} rows)`)
    const s3 = await startS3rverProcess({ directory: path.join(ctx.workDir, 's3-memory'), buckets: ['bench'] })
    await linkObject(s3.directory, 'bench', 'memory-csv/inventory.csv', csv.file, csv.md5)
    await linkObject(s3.directory, 'bench', 'memory-xlsx/inventory.xlsx', xlsx.file, xlsx.md5,
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    const cases = [['csv', 'memory-csv/', csv.rows], ['xlsx', 'memory-xlsx/', xlsx.rows]] as const
    const { rss, secs } = await pullPeaks(ctx, { endpoint: s3.endpoint, cases, label: 'memory' }).finally(() => s3.close())
    const mCsv = measure('csv.maxRss', `Peak RSS pulling a ${(csv.bytes / MB).toFixed(0)} MiB CSV (${csv.rows.toLocaleString('en-US')} rows)`, 'bytes', rss.csv)
    const mXlsx = measure('xlsx.maxRss', `Peak RSS pulling a ${(xlsx.bytes / MB).toFixed(0)} MiB XLSX (${xlsx.rows.toLocaleString('en-US')} rows)`,
      'bytes', rss.xlsx)
    const tCsv = measure('csv.ms', 'Duration of that CSV pull (for reference)', 'ms', secs.csv)
    const tXlsx = measure('xlsx.ms', 'Duration of that XLSX pull (for reference)', 'ms', secs.xlsx)
    const target = { text: '≤ 300 MB', test: (v: number) => v <= 300 * 1e6 }
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { csvBytes: csv.bytes, csvRows: csv.rows, xlsxBytes: xlsx.bytes, xlsxRows: xlsx.rows, runs: ctx.runs },
      measures: [mCsv, mXlsx, tCsv, tXlsx],
      comparisons: [absolute('CSV pull peak RSS', mCsv, target), absolute('XLSX pull peak RSS', mXlsx, target)],
      notes: [
        'The worker process is the whole Ferry runtime in the `worker` role (database pool, pg-boss, vault), so its baseline RSS is included.',
        'It starts as `ferry serve` does, with its V8 heap flags (src/heap.ts, docs/decisions.md "Memory of a pull").',
      ],
    }
  },
}
