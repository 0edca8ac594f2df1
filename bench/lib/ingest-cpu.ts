/**
 * The Node side of benchmark 1 alone: one CSV file through the real pipeline (detect, decode, parse,
 * map, COPY text) into transactions that store nothing, timed in CPU time. On the shared 2-core
 * machine the pull's wall time mostly measures the other tenants; this isolates what the pipeline
 * itself costs per file. `--copy-file` keeps the COPY text, so PostgreSQL's side can be timed alone
 * with `psql -c '\copy inventory_items (…) FROM <file>'`.
 *   node --import tsx bench/lib/ingest-cpu.ts bench/tmp/cache/ingest-1000000.csv [--runs=3] [--copy-file=bench/tmp/items.copy]
 */
import fs from 'node:fs'
import { Writable } from 'node:stream'
import { loadConfig } from '../../src/config.js'
import type { Db, Transaction } from '../../src/db/client.js'
import { InventoryPipeline } from '../../src/pipeline/ingest.js'

const args = process.argv.slice(2)
const option = (name: string): string | undefined => args.find(a => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const file = args.find(a => !a.startsWith('--'))
if (file === undefined) throw new Error('usage: ingest-cpu.ts <file.csv> [--runs=3] [--copy-file=<path>]')
const runs = Number(option('runs') ?? 3)
const copyFile = option('copy-file')

const upload = {
  id: '00000000-0000-0000-0000-000000000001', seq: 1, agent_id: 'bench', file_name: file, bytes: 0,
  rows_accepted: 0, rows_rejected: 0, status: 'ingested', warnings: [], created_at: new Date(),
}
const tx = {
  kind: 'postgres',
  exec: async () => {},
  // the upload row's INSERT and UPDATE … RETURNING: the pipeline only reads it back
  query: async () => ({ rows: [upload], rowCount: 1 }),
  bossAdapter: () => { throw new Error('not used by the pipeline') },
  copyFrom: () => copyFile === undefined
    ? new Writable({ write (_chunk, _encoding, callback) { callback() } })
    // one COPY per staged chunk: each appends (the file is emptied before each run)
    : fs.createWriteStream(copyFile, { flags: 'a' }),
} as unknown as Transaction
const db = { ...tx, transaction: async <T>(fn: (t: Transaction) => Promise<T>) => fn(tx), close: async () => {} } as unknown as Db

const pipeline = new InventoryPipeline({ limits: loadConfig({}).limits })
for (let i = 0; i < runs; i++) {
  if (copyFile !== undefined) fs.writeFileSync(copyFile, '')
  const cpu = process.cpuUsage()
  const started = performance.now()
  await pipeline.ingestAll(db, {
    orgId: 'bench', agent: { id: 'bench', mapping: { fieldMap: {}, output: [] } }, stream: fs.createReadStream(file), fileName: 'inventory.csv'
  })
  const used = process.cpuUsage(cpu)
  console.log(`run ${i + 1}: cpu ${Math.round((used.user + used.system) / 1000)} ms, wall ${Math.round(performance.now() - started)} ms`)
}
