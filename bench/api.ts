/**
 * Benchmark 7 — API under load: `GET /api/v1/agents/{id}/data-sources/{sid}/syncs?limit=20` on a
 * real `ferry serve --role api` process (PostgreSQL, bearer auth, default logging) driven by
 * autocannon, against a bare Fastify route answering the same JSON (bench/lib/bare-server.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import autocannon from 'autocannon'
import { createPostgresDatabase } from '../test/helpers/db.js'
import { freePort, waitForHttp } from '../test/helpers/process.js'
import { startFerry, ferryEnv } from './lib/ferry.js'
import { ROOT } from './lib/proc.js'
import { compare, measure } from './lib/stats.js'
import { appendManifest, finishSync, insertSync } from '../src/db/sql/syncs.js'
import { newId } from '../src/util/ids.js'
import type { Benchmark, BenchOutcome } from './lib/types.js'

function start (args: string[], env: NodeJS.ProcessEnv, profileDir?: string): ChildProcess {
  const prof = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
  return spawn(process.execPath, [...prof, '--import', 'tsx', ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] })
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

interface Load { rps: number, p50: number, p99: number }

async function load (url: string, headers: Record<string, string>, seconds: number): Promise<Load> {
  const result = await autocannon({ url, headers, connections: 10, pipelining: 1, duration: seconds })
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  return { rps: result.requests.total / seconds, p50: result.latency.p50, p99: result.latency.p99 }
}

export const apiBenchmark: Benchmark = {
  id: 'api',
  title: '7. API: GET …/syncs?limit=20 under load vs a bare Fastify route',
  async run (ctx): Promise<BenchOutcome> {
    const seconds = ctx.quick ? 3 : 10
    const database = await createPostgresDatabase()
    const f = await startFerry({ database: { url: database.url, drop: async () => {} } })
    const source = await f.addS3Source({ endpoint: 'http://127.0.0.1:9', bucket: 'bench', prefix: 'api/', validate: false })
    // 40 finished syncs of a few files each: the route answers the newest 20 (without manifests)
    for (let i = 0; i < 40; i++) {
      const sync = await insertSync(f.deps.db, { id: newId(), orgId: f.orgId, sourceId: source.id, direction: 'inbound', trigger: 'schedule' })
      for (let k = 0; k < 3; k++) {
        await appendManifest(f.deps.db, sync.id, {
          key: `api/file-${i}-${k}.csv`, etag: `"${newId()}"`, size: 20_480, lastModified: new Date().toISOString(),
          format: 'csv', status: 'ingested', rowsAccepted: 400, rowsRejected: 0
        })
      }
      await finishSync(f.deps.db, sync.id, { status: 'succeeded' })
    }
    const apiKey = f.apiKey
    const agentId = f.agent.id
    await f.close()

    const route = `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs?limit=20`
    const ferryPort = await freePort()
    const barePort = await freePort()
    const dataDir = await fs.mkdtemp(path.join(ctx.workDir, 'api-'))
    const ferry = start([path.join(ROOT, 'src/cli.ts'), 'serve', '--role', 'api'], {
      PATH: process.env.PATH, HOME: process.env.HOME, ...ferryEnv(database.url, dataDir, { PORT: String(ferryPort), LOG_LEVEL: 'info' })
    }, ctx.profileDir)
    let bare: ChildProcess | undefined
    let responseBytes = 0
    const ferryRuns: Load[] = []
    const bareRuns: Load[] = []
    try {
      await waitForHttp(`http://127.0.0.1:${ferryPort}/readyz`, 60_000, () => ferry.exitCode === null)
      const headers = { authorization: `Bearer ${apiKey}` }
      const sample = await fetch(`http://127.0.0.1:${ferryPort}${route}`, { headers })
      if (sample.status !== 200) throw new Error(`Ferry answered ${sample.status}: ${await sample.text()}`)
      const body = await sample.text()
      responseBytes = Buffer.byteLength(body)
      if ((JSON.parse(body) as { items: unknown[] }).items.length !== 20) throw new Error('the route did not answer 20 syncs')
      await fs.writeFile(path.join(dataDir, 'body.json'), body)
      bare = start([path.join(ROOT, 'bench/lib/bare-server.ts'), path.join(dataDir, 'body.json'), String(barePort)],
        { PATH: process.env.PATH, HOME: process.env.HOME })
      await waitForHttp(`http://127.0.0.1:${barePort}/healthz`, 30_000, () => bare!.exitCode === null)
      // warm-up (JIT, pool connections), not measured
      await load(`http://127.0.0.1:${ferryPort}${route}`, headers, 1)
      await load(`http://127.0.0.1:${barePort}${route}`, {}, 1)
      for (let i = 0; i < ctx.runs; i++) {
        ferryRuns.push(await load(`http://127.0.0.1:${ferryPort}${route}`, headers, seconds))
        bareRuns.push(await load(`http://127.0.0.1:${barePort}${route}`, {}, seconds))
        ctx.log(`api run ${i + 1}: ferry ${Math.round(ferryRuns.at(-1)!.rps)} req/s, bare ${Math.round(bareRuns.at(-1)!.rps)} req/s`)
      }
    } finally {
      await stop(ferry)
      if (bare) await stop(bare)
      await database.drop()
    }
    const rps = measure('ferry.rps', 'Ferry requests/s (10 connections)', 'req/s', ferryRuns.map(r => r.rps))
    const bareRps = measure('bare.rps', 'Bare Fastify requests/s (10 connections)', 'req/s', bareRuns.map(r => r.rps))
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { connections: 10, secondsPerRun: seconds, runs: ctx.runs, syncsInHistory: 40, responseBytes },
      measures: [
        rps, bareRps,
        measure('ferry.p50', 'Ferry latency p50', 'ms', ferryRuns.map(r => r.p50)),
        measure('ferry.p99', 'Ferry latency p99', 'ms', ferryRuns.map(r => r.p99)),
        measure('bare.p50', 'Bare Fastify latency p50', 'ms', bareRuns.map(r => r.p50)),
        measure('bare.p99', 'Bare Fastify latency p99', 'ms', bareRuns.map(r => r.p99)),
      ],
      comparisons: [compare('Ferry requests/s ÷ bare Fastify requests/s', rps, bareRps, { text: '≥ 0.3×', test: r => r >= 0.3 })],
      notes: ['Ferry runs as `ferry serve --role api` with its default logging (one JSON line per request, to /dev/null); ' +
        'each request authenticates its API key, loads the agent and source, and reads the syncs from PostgreSQL. ' +
        'autocannon runs in the benchmark process, each server in its own.'],
    }
  },
}
