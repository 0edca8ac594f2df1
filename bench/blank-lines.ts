/**
 * Issue 14, case 1: a 2-column header and N MiB of newlines (gzipped to a few KB) through the real
 * pipeline into an in-memory PGlite. Prints the time and the longest event-loop stall meanwhile.
 *   node --import tsx bench/blank-lines.ts 8
 */
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import { loadConfig } from '../src/config.js'
import { openDb } from '../src/db/open.js'
import { migrate } from '../src/db/migrate.js'
import { createOrgWithAdminKey } from '../src/auth/api-keys.js'
import { insertAgent } from '../src/db/sql/agents.js'
import { resolveAgent } from '../src/domain/agent.js'
import { InventoryPipeline } from '../src/pipeline/ingest.js'
import { newId } from '../src/util/ids.js'

const mib = Number(process.argv[2] ?? 8)
const db = await openDb({ memory: true })
await migrate(db)
const { org } = await createOrgWithAdminKey(db, 'm')
const agent = await insertAgent(db, org.id, newId(), resolveAgent({ name: 'm' }))
const gz = zlib.gzipSync(Buffer.from('sku,qty\n' + '\n'.repeat(mib * 1024 * 1024)))
const pipeline = new InventoryPipeline({ limits: loadConfig({}).limits })
let maxGap = 0
let last = performance.now()
const timer = setInterval(() => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now }, 5)
const start = performance.now()
const [{ result }] = await pipeline.ingestAll(db, { orgId: org.id, agent, stream: Readable.from([gz]), fileName: 'blank.csv.gz' })
const ms = performance.now() - start
clearInterval(timer)
await db.close()
console.log(JSON.stringify({
  mib, gzBytes: gz.length, ms: Math.round(ms), status: result!.upload.status, error: result!.upload.error, maxEventLoopGapMs: Math.round(maxGap),
}))
