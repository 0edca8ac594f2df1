/**
 * Benchmark 8 — retention purge under API load: N inventory items (1,000,000; 100,000 with --quick)
 * in uploads past FERRY_RETENTION_DAYS are purged (src/retention/purge.ts, as a worker does it)
 * while clients call `GET /api/v1/agents` on a real `ferry serve --role api` process on the same
 * PostgreSQL; the latency of that route during the purge is compared with its latency just before.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { createPostgresDatabase } from '../test/helpers/db.js'
import { freePort, waitForHttp } from '../test/helpers/process.js'
import { purgeExpired } from '../src/retention/purge.js'
import { openDb } from '../src/db/open.js'
import { startFerry, ferryEnv } from './lib/ferry.js'
import { ROOT } from './lib/proc.js'
import { compare, measure } from './lib/stats.js'
import type { Benchmark, BenchOutcome } from './lib/types.js'
import { hammer, type Latency } from './lib/latency.js'

const CLIENTS = 10
/** rows per purged upload: a typical supplier file */
const ROWS_PER_UPLOAD = 10_000

export const retentionBenchmark: Benchmark = {
  id: 'retention',
  title: '8. Retention: purge of 1M inventory items while the API answers GET /api/v1/agents',
  async run (ctx): Promise<BenchOutcome> {
    const items = ctx.quick ? 100_000 : 1_000_000
    const uploads = Math.max(1, Math.round(items / ROWS_PER_UPLOAD))
    const seconds = ctx.quick ? 3 : 10
    const baseline: Latency[] = []
    const during: Latency[] = []
    const purgeSeconds: number[] = []
    for (let run = 0; run < ctx.runs; run++) {
      const database = await createPostgresDatabase()
      const f = await startFerry({ database: { url: database.url, drop: async () => {} } })
      const { apiKey, orgId } = f
      const agentId = f.agent.id
      // a few agents for the route to list, and the items past the window, written server-side
      for (let i = 0; i < 20; i++) {
        await f.deps.db.query(`INSERT INTO agents (id, org_id, name, schedule_cron, timezone, rules, mapping)
          SELECT gen_random_uuid(), org_id, $2, schedule_cron, timezone, rules, mapping FROM agents WHERE id = $1`, [agentId, `agent ${i}`])
      }
      await f.deps.db.query(`INSERT INTO inventory_uploads (id, org_id, agent_id, file_name, format, rows_accepted, status, created_at)
        SELECT gen_random_uuid(), $1, $2, 'old-' || g || '.csv', 'csv', $3, 'ingested', now() - interval '100 days'
        FROM generate_series(1, $4) g`, [orgId, agentId, ROWS_PER_UPLOAD, uploads])
      await f.deps.db.query(`INSERT INTO inventory_items (upload_seq, row_number, sku, name, quantity, price, currency, attributes)
        SELECT u.seq, r, 'SKU-' || u.seq || '-' || r, 'Item ' || r, r % 100, 9.99, 'EUR', '{"colour": "red"}'::jsonb
        FROM inventory_uploads u CROSS JOIN generate_series(1, $2) r WHERE u.agent_id = $1`, [agentId, ROWS_PER_UPLOAD])
      await f.deps.db.exec('ANALYZE')
      await f.close()

      const port = await freePort()
      const dataDir = await fs.mkdtemp(path.join(ctx.workDir, 'retention-'))
      const api: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'serve', '--role', 'api'], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...ferryEnv(database.url, dataDir, { PORT: String(port), LOG_LEVEL: 'warn' }) },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
      // the purge runs here, on its own pool, as a worker process would run it
      const db = await openDb({ databaseUrl: database.url })
      try {
        await waitForHttp(`http://127.0.0.1:${port}/readyz`, 60_000, () => api.exitCode === null)
        const url = `http://127.0.0.1:${port}/api/v1/agents`
        const headers = { authorization: `Bearer ${apiKey}` }
        // warm-up (JIT, pool connections), not measured
        await hammer(url, headers, CLIENTS, new Promise(resolve => setTimeout(resolve, 1000)))
        baseline.push(await hammer(url, headers, CLIENTS, new Promise(resolve => setTimeout(resolve, seconds * 1000))))
        const started = performance.now()
        const purge = purgeExpired(db, { retentionDays: 90, pauseMs: 10 })
        during.push(await hammer(url, headers, CLIENTS, purge))
        const counts = await purge
        purgeSeconds.push((performance.now() - started) / 1000)
        if (counts.items !== uploads * ROWS_PER_UPLOAD) throw new Error(`purged ${counts.items} items, expected ${uploads * ROWS_PER_UPLOAD}`)
        ctx.log(`retention run ${run + 1}: ${counts.items} items in ${purgeSeconds.at(-1)!.toFixed(1)} s; ` +
          `GET /agents p99 ${baseline.at(-1)!.p99.toFixed(1)} ms before, ${during.at(-1)!.p99.toFixed(1)} ms during`)
      } finally {
        await db.close()
        if (api.exitCode === null) {
          const exited = new Promise(resolve => api.once('exit', resolve))
          api.kill('SIGTERM')
          await exited
        }
        await database.drop()
      }
    }
    const beforeP99 = measure('api.before.p99', 'GET /api/v1/agents p99 before the purge', 'ms', baseline.map(l => l.p99))
    const duringP99 = measure('api.purge.p99', 'GET /api/v1/agents p99 during the purge', 'ms', during.map(l => l.p99))
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { items, uploads, rowsPerUpload: ROWS_PER_UPLOAD, clients: CLIENTS, runs: ctx.runs, batch: 5000, pauseMs: 10 },
      measures: [
        measure('purge.seconds', 'Purge time', 's', purgeSeconds),
        measure('purge.itemsPerSecond', 'Items purged per second', 'items/s', purgeSeconds.map(s => items / s)),
        measure('api.before.p50', 'GET /api/v1/agents p50 before the purge', 'ms', baseline.map(l => l.p50)),
        beforeP99,
        measure('api.purge.p50', 'GET /api/v1/agents p50 during the purge', 'ms', during.map(l => l.p50)),
        duringP99,
      ],
      comparisons: [compare('p99 during the purge ÷ p99 before it', duringP99, beforeP99, { text: '≤ 3×', test: r => r <= 3 })],
      notes: [`${CLIENTS} request loops in the benchmark process against \`ferry serve --role api\`; the purge runs in the benchmark process ` +
        'on its own connection pool (as a worker runs it), in statements of at most 5,000 rows with a 10 ms pause between them.'],
    }
  },
}
