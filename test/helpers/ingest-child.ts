/**
 * Ingests a generated CSV of N rows through the real pipeline into the database at DATABASE_URL
 * (or an in-memory PGlite) and prints {rows, maxRssBytes, ms} as JSON. Run as a child process so its
 * peak RSS is the pipeline's alone (test/integration/uploads-memory.test.ts and the benchmarks).
 */
import { Readable } from 'node:stream'
import { loadConfig } from '../../src/config.js'
import { openDb } from '../../src/db/open.js'
import { migrate } from '../../src/db/migrate.js'
import { createOrgWithAdminKey } from '../../src/auth/api-keys.js'
import { insertAgent } from '../../src/db/sql/agents.js'
import { resolveAgent } from '../../src/domain/agent.js'
import { InventoryPipeline } from '../../src/pipeline/ingest.js'
import { newId } from '../../src/util/ids.js'

const rows = Number(process.argv[2] ?? 1_000_000)
const db = await openDb({ databaseUrl: process.env.DATABASE_URL, memory: !process.env.DATABASE_URL })
await migrate(db)
const { org } = await createOrgWithAdminKey(db, 'bench')
const agent = await insertAgent(db, org.id, newId(), resolveAgent({ name: 'bench' }))

function * csv () {
  yield 'sku,name,quantity,price,currency,location,colour\n'
  let buf = ''
  for (let i = 1; i <= rows; i++) {
    buf += `SKU-${i},Widget ${i},${i % 500},${(i % 1000) / 10},EUR,WH-${i % 7},blue\n`
    if (buf.length > 64 * 1024) { yield buf; buf = '' }
  }
  if (buf) yield buf
}

const pipeline = new InventoryPipeline({ limits: loadConfig({}).limits })
const start = Date.now()
const [{ result }] = await pipeline.ingestAll(db, { orgId: org.id, agent, stream: Readable.from(csv()), fileName: 'big.csv' })
const ms = Date.now() - start
await db.close()
const report = { rows: result!.upload.rowsAccepted, status: result!.upload.status, maxRssBytes: process.resourceUsage().maxRSS * 1024, ms }
process.stdout.write(JSON.stringify(report) + '\n')
