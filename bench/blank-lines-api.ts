/**
 * Issue 14, case 1, as a user meets it: a 2-column header and N MiB of newlines (gzipped to a few KB)
 * uploaded to a real Ferry (embedded PGlite on disk, the default) while another client asks
 * GET /api/v1/agents every 25 ms. Prints the upload's time and the API's latency meanwhile.
 *   node --import tsx bench/blank-lines-api.ts 8
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/log.js'
import { startRuntime } from '../src/runtime.js'

const mib = Number(process.argv[2] ?? 8)
const KEY = 'fy_bench_blank_lines_key_0123456789'
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-blank-'))
const config = loadConfig({
  FERRY_DATA_DIR: dataDir, FERRY_BOOTSTRAP_API_KEY: KEY, FERRY_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
  FERRY_SCHEDULER_INTERVAL_MS: '0', PORT: '0',
})
const runtime = await startRuntime(config, { role: 'all', logger: createLogger({ level: 'silent' }), print: () => {} })
const app = runtime.app!
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1`
const headers = { authorization: `Bearer ${KEY}` }
const agent = await (await fetch(`${base}/agents`, {
  method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'blank' }),
})).json() as { id: string }

const latencies: number[] = []
let polling = true
const poll = (async () => {
  // eslint-disable-next-line no-unmodified-loop-condition -- set once the upload is answered
  while (polling) {
    const t = performance.now()
    await (await fetch(`${base}/agents`, { headers })).arrayBuffer()
    latencies.push(performance.now() - t)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
})()

const gz = zlib.gzipSync(Buffer.from('sku,qty\n' + '\n'.repeat(mib * 1024 * 1024)))
const form = new FormData()
form.append('file', new Blob([gz], { type: 'text/csv' }), 'blank.csv.gz')
const start = performance.now()
const upload = await fetch(`${base}/agents/${agent.id}/inventory/uploads`, { method: 'POST', headers, body: form })
const answer = await upload.json() as { code?: string, status?: string }
const uploadMs = performance.now() - start
polling = false
await poll
await runtime.stop()
await fs.rm(dataDir, { recursive: true, force: true })

latencies.sort((a, b) => a - b)
const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))])
console.log(JSON.stringify({
  mib, gzBytes: gz.length, uploadMs: Math.round(uploadMs), status: upload.status, outcome: answer.status ?? answer.code,
  apiRequests: latencies.length, apiP50Ms: at(0.5), apiP99Ms: at(0.99), apiMaxMs: Math.round(latencies.at(-1) ?? 0),
}))
