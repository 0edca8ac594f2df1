import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, it, expect } from 'vitest'

const ROWS = 1_000_000
const MB = 1024 * 1024
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

describe('memory stays flat whatever the file size', () => {
  it(`parses a generated ${ROWS.toLocaleString('en')}-row CSV with peak RSS under 300 MB`, async () => {
    // A child of its own, so the peak is the parser's (not the test runner's), with the V8 heap capped far
    // below what 1M parsed rows would take: a parser that kept its rows would die of it, whenever the garbage
    // collector happens to run (on Node 24 an uncapped heap grows lazily, which made a bare RSS bound flaky).
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--max-old-space-size=96', '--max-semi-space-size=16', '--import', 'tsx', 'test/helpers/parse-child.ts', String(ROWS),
    ], { cwd: ROOT, maxBuffer: 1 << 20 })
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { records: number, problems: number, last: number, bytes: number, maxRssBytes: number }
    console.log(`peak RSS ${(out.maxRssBytes / MB).toFixed(0)} MB`)
    expect(out.records).toBe(ROWS)
    expect(out.problems).toBe(0)
    expect(out.last).toBe(ROWS + 1)
    expect(out.bytes).toBeGreaterThan(50 * MB)
    expect(out.maxRssBytes).toBeLessThan(300 * MB)
  }, 300_000)
})
