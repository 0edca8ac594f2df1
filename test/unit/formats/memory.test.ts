import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parquetWriteFile } from 'hyparquet-writer'
import { describe, it, expect } from 'vitest'

const ROWS = 1_000_000
const MB = 1024 * 1024
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const DESCRIPTION = 'Stainless steel hex bolt, zinc plated, DIN 933, for indoor and outdoor use; packed in boxes of 100 pieces'

type ChildOut = { records: number, problems: number, last: number, bytes: number, maxRssBytes: number }

async function parseInChild (args: string[]): Promise<ChildOut> {
  const { stdout } = await promisify(execFile)(process.execPath, [...args], { cwd: ROOT, maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildOut
}

describe('memory stays flat whatever the file size', () => {
  it(`parses a generated ${ROWS.toLocaleString('en')}-row CSV with peak RSS under 300 MB`, async () => {
    // A child of its own, so the peak is the parser's (not the test runner's), with the V8 heap capped far
    // below what 1M parsed rows would take: a parser that kept its rows would die of it, whenever the garbage
    // collector happens to run (on Node 24 an uncapped heap grows lazily, which made a bare RSS bound flaky).
    const out = await parseInChild([
      '--max-old-space-size=96', '--max-semi-space-size=16', '--import', 'tsx', 'test/helpers/parse-child.ts', String(ROWS),
    ])
    console.log(`peak RSS ${(out.maxRssBytes / MB).toFixed(0)} MB`)
    expect(out.records).toBe(ROWS)
    expect(out.problems).toBe(0)
    expect(out.last).toBe(ROWS + 1)
    expect(out.bytes).toBeGreaterThan(50 * MB)
    expect(out.maxRssBytes).toBeLessThan(300 * MB)
  }, 300_000)

  it('reads a Parquet file of one large row group in slices, not the whole group at once', async () => {
    // 600,000 rows in ONE row group (~80 MB of text once decompressed; a few hundred MB as JavaScript rows), with the
    // offset index hyparquet-writer, parquet-mr and Spark write: read whole, the group would not fit the capped heap
    const rows = 600_000
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-parquet-memory-'))
    const file = path.join(dir, 'one-group.parquet')
    try {
      parquetWriteFile({
        filename: file,
        columnData: [
          { name: 'sku', data: Array.from({ length: rows }, (_, i) => `SKU-${i}`), type: 'STRING' },
          { name: 'quantity', data: Array.from({ length: rows }, (_, i) => BigInt(i % 500)), type: 'INT64' },
          { name: 'description', data: Array.from({ length: rows }, (_, i) => `${DESCRIPTION} #${i}`), type: 'STRING' },
        ],
        rowGroupSize: rows,
      })
      const out = await parseInChild(['--max-old-space-size=64', '--max-semi-space-size=8', '--import', 'tsx', 'test/helpers/parse-child.ts', file])
      console.log(`Parquet, one row group of ${rows} rows: peak RSS ${(out.maxRssBytes / MB).toFixed(0)} MB`)
      expect(out.records).toBe(rows)
      expect(out.problems).toBe(0)
      expect(out.last).toBe(rows)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
