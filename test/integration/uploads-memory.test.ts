import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { HEAP_FLAGS } from '../../src/heap.js'
import { backend, createPostgresDatabase } from '../helpers/db.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../..')
let drop: (() => Promise<void>) | undefined
afterAll(async () => { await drop?.() })

// Memory, measured not timed: a child process ingests a generated 1,000,000-row CSV through the real
// pipeline and reports its peak RSS. On PostgreSQL only: embedded PGlite keeps an in-memory test
// database inside the process, so its RSS would measure the stored data, not the pipeline.
describe.skipIf(backend() !== 'postgres')('inventory pipeline memory', () => {
  it('ingests 1,000,000 rows with peak RSS under 300 MB', async () => {
    const pg = await createPostgresDatabase()
    drop = pg.drop
    // with the V8 heap settings `ferry serve` runs with (src/heap.ts), as the product would ingest it
    const { stdout } = await run(process.execPath, [...HEAP_FLAGS, '--import', 'tsx', 'test/helpers/ingest-child.ts', '1000000'], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: pg.url }, timeout: 300_000,
    })
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!)
    expect(result).toMatchObject({ rows: 1_000_000, status: 'ingested' })
    expect(result.maxRssBytes).toBeLessThan(300 * 1024 * 1024)
  }, 320_000)
})
