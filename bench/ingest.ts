/**
 * Benchmark 1 — ingest: one N-row CSV object in s3rver → inventory in PostgreSQL through a real pull
 * (fresh database per run), against `psql \copy` of the same file from local disk into (a) a bare
 * table with the CSV's columns and (b) an equivalent table (typed numerics + a bigserial key).
 */
import path from 'node:path'
import pg from 'pg'
import { createPostgresDatabase } from '../test/helpers/db.js'
import { firstPull } from './lib/ferry.js'
import { cachedCsv, csvRow, CSV_HEADER } from './lib/data.js'
import { linkObject, startS3rverProcess } from './lib/s3.js'
import { findExecutable, run } from './lib/proc.js'
import { compare, measure } from './lib/stats.js'
import type { Benchmark, BenchOutcome } from './lib/types.js'

const BARE = 'CREATE TABLE bare (sku text, name text, quantity text, price text, currency text, location text, colour text)'
const EQUIVALENT = `CREATE TABLE equivalent (id bigserial PRIMARY KEY, sku text NOT NULL, name text, quantity numeric, price numeric,
  currency text, location text, colour text)`

async function count (url: string, table: string): Promise<number> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n)
  } finally {
    await c.end()
  }
}

export const ingestBenchmark: Benchmark = {
  id: 'ingest',
  title: '1. Ingest: CSV object in s3rver → inventory in PostgreSQL',
  async run (ctx): Promise<BenchOutcome> {
    const rows = ctx.quick ? 50_000 : 1_000_000
    const csv = await cachedCsv(ctx.cacheDir, `ingest-${rows}.csv`, CSV_HEADER, rows, csvRow)
    const psql = findExecutable(['/usr/bin/psql', '/usr/local/bin/psql'])
    const s3 = await startS3rverProcess({ directory: path.join(ctx.workDir, 's3-ingest'), buckets: ['bench'] })
    await linkObject(s3.directory, 'bench', 'ingest/inventory.csv', csv.file, csv.md5)
    const ferry: number[] = []
    const bare: number[] = []
    const equivalent: number[] = []
    const notes: string[] = []
    try {
      for (let i = 0; i < ctx.runs; i++) {
        const { ms, sync } = await firstPull(s3.endpoint, 'ingest/')
        if (sync.status !== 'succeeded' || sync.rowsAccepted !== rows) {
          throw new Error(`pull ended ${sync.status} with ${sync.rowsAccepted} rows, expected ${rows}`)
        }
        ferry.push(rows / (ms / 1000))
        ctx.log(`ingest run ${i + 1}: ferry ${Math.round(ms)} ms`)
        if (!psql) continue
        const db = await createPostgresDatabase()
        try {
          for (const [table, ddl, into] of [['bare', BARE, bare], ['equivalent', EQUIVALENT, equivalent]] as const) {
            const setup = await run(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', db.url, '-c', ddl])
            if (setup.code !== 0) throw new Error(`psql: ${setup.stderr}`)
            const columns = table === 'bare' ? '' : '(sku, name, quantity, price, currency, location, colour)'
            const copy = `\\copy ${table}${columns} FROM '${csv.file}' WITH (FORMAT csv, HEADER true)`
            const res = await run(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', db.url, '-c', copy])
            if (res.code !== 0) throw new Error(`psql \\copy: ${res.stderr}`)
            const n = await count(db.url, table)
            if (n !== rows) throw new Error(`\\copy loaded ${n} rows, expected ${rows}`)
            into.push(rows / (res.ms / 1000))
            ctx.log(`ingest run ${i + 1}: psql \\copy ${table} ${Math.round(res.ms)} ms`)
          }
        } finally {
          await db.drop()
        }
      }
    } finally {
      await s3.close()
    }
    const mFerry = measure('ferry.rowsPerSecond', 'Ferry pull (list + GET + parse + validate + COPY, one transaction with ledger)', 'rows/s', ferry)
    const mBare = measure('psql.bare.rowsPerSecond', 'psql \\copy from local disk → bare text table', 'rows/s', bare)
    const mEq = measure('psql.equivalent.rowsPerSecond', 'psql \\copy from local disk → equivalent table (numeric + bigserial PK)', 'rows/s', equivalent)
    const target = { text: '≥ 0.5×', test: (r: number) => r >= 0.5 }
    if (!psql) notes.push('psql was not found: the \\copy baselines are unavailable (apt-get install postgresql-client).')
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { rows, bytes: csv.bytes, runs: ctx.runs, freshDatabasePerRun: true },
      measures: psql ? [mFerry, mBare, mEq] : [mFerry],
      comparisons: psql
        ? [compare('Ferry ÷ \\copy into bare table', mFerry, mBare, target), compare('Ferry ÷ \\copy into equivalent table', mFerry, mEq, target)]
        : [],
      notes,
    }
  },
}
