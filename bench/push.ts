/**
 * Benchmark 5 — push: N webhook deliveries of one ~50 KB mapping-job result (JSON) to a local
 * receiver (bench/lib/receiver.ts, its own process), through Ferry's real push path — a delivery row
 * and sync per push, pg-boss jobs, the push workers of a `worker` runtime (PUSH_LOOPS loops of PUSH_BATCH attempts), guarded
 * HTTP, Standard Webhooks signing, manifest and delivery state written per attempt — against raw
 * undici POSTs of the same body with the same number of requests in flight (PUSH_LOOPS × PUSH_BATCH).
 *
 * Both are timed by the receiver: first request in → last response out. The pushes are queued first
 * (an `api` runtime, not timed), then a worker runtime starts and drains them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { Pool } from 'undici'
import { createPostgresDatabase } from '../test/helpers/db.js'
import { freePort, waitForHttp } from '../test/helpers/process.js'
import { startFerry } from './lib/ferry.js'
import { preparePushes, queuePushes } from './lib/push-setup.js'
import { ROOT } from './lib/proc.js'
import { compare, measure } from './lib/stats.js'
import { requestPush, runPushes } from '../src/push/service.js'
import { PUSH_BATCH, PUSH_LOOPS } from '../src/queue/jobs/push.js'
import type { Benchmark, BenchOutcome } from './lib/types.js'

const ROWS = 420 // ≈ 50 KB of JSON result with the canonical columns
/** Requests in flight on both sides: a worker process's push loops × the attempts each makes together (src/queue/jobs/push.ts). */
const CONCURRENCY = PUSH_LOOPS * PUSH_BATCH

interface ReceiverStats { count: number, unique: number, bytes: number, firstAt: number, lastAt: number }

async function stats (base: string): Promise<ReceiverStats> {
  return (await fetch(`${base}/stats`)).json() as Promise<ReceiverStats>
}

async function rawPosts (base: string, body: Buffer, n: number): Promise<void> {
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 })
  let next = 0
  const loop = async () => {
    while (next < n) {
      next++
      const res = await pool.request({ path: '/hook', method: 'POST', body, headers: { 'content-type': 'application/json' } })
      await res.body.dump()
      if (res.statusCode !== 200) throw new Error(`receiver answered ${res.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, loop))
  await pool.close()
}

export const pushBenchmark: Benchmark = {
  id: 'push',
  title: '5. Push: webhook deliveries vs raw undici POSTs',
  async run (ctx): Promise<BenchOutcome> {
    const pushes = ctx.quick ? 100 : 1000
    const database = await createPostgresDatabase()
    const keep = { url: database.url, drop: async () => {} }
    const port = await freePort()
    const base = `http://127.0.0.1:${port}`
    const bodyFile = path.join(ctx.workDir, 'push-body.json')
    const receiver: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/lib/receiver.ts'), String(port), bodyFile], {
      cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit']
    })
    const ferryMs: number[] = []
    const engineMs: number[] = []
    const rawMs: number[] = []
    let bodyBytes = 0
    try {
      await waitForHttp(`${base}/stats`, 30_000, () => receiver.exitCode === null)
      // setup (not timed): an upload whose auto-map job produces the result, and one sink per push
      const fixture = await preparePushes(database.url, base, { rows: ROWS, sinks: pushes })
      const { orgId, agentId, jobId, sinks } = fixture
      const agent = { id: agentId }

      for (let run = 0; run < ctx.runs; run++) {
        // queue the pushes (an API process's work, not timed)
        const syncIds = await queuePushes(database.url, fixture)
        await fetch(`${base}/reset`, { method: 'POST' })
        // a worker drains them
        const worker = await startFerry({ database: keep, role: 'worker' })
        try {
          for (let i = 0; ; i++) {
            const { rows } = await worker.deps.db.query<{ state: string, n: number }>(
              'SELECT state, count(*)::int AS n FROM push_deliveries WHERE sync_id = ANY($1::uuid[]) GROUP BY state', [syncIds])
            const by = Object.fromEntries(rows.map(r => [r.state, r.n]))
            if ((by.delivered ?? 0) === pushes) break
            if ((by.failed ?? 0) + (by.disabled ?? 0) + (by.retrying ?? 0) > 0) throw new Error(`deliveries did not all succeed: ${JSON.stringify(by)}`)
            if (i > 6000) throw new Error(`deliveries did not finish: ${JSON.stringify(by)}`)
            await new Promise(resolve => setTimeout(resolve, 50))
          }
        } finally {
          await worker.close()
        }
        const f = await stats(base)
        if (f.count !== pushes || f.unique !== pushes) {
          throw new Error(`the receiver got ${f.count} deliveries with ${f.unique} distinct webhook-ids, expected ${pushes}`)
        }
        ferryMs.push(f.lastAt - f.firstAt)
        bodyBytes = Math.round(f.bytes / f.count)

        // the same pushes with the queue taken out: runPushes (a batch of delivery attempts, everything
        // but pg-boss) called by the worker's number of loops in-process — what a delivery costs Ferry itself
        {
          const api = await startFerry({ database: keep, role: 'api' })
          try {
            const jobs: Array<{ sinkId: string, jobId: string, syncId: string }> = []
            for (const sinkId of sinks) jobs.push({ sinkId, jobId, syncId: (await requestPush(api.deps, orgId, agent.id, sinkId, jobId)).id })
            // their queued pg-boss jobs are not needed (and must not reach the next run's worker)
            await api.deps.db.query("DELETE FROM pgboss.job WHERE name = 'push-results' AND state = 'created'")
            await fetch(`${base}/reset`, { method: 'POST' })
            let next = 0
            await Promise.all(Array.from({ length: PUSH_LOOPS }, async () => {
              while (next < jobs.length) {
                const batch = jobs.slice(next, next += PUSH_BATCH)
                await runPushes(api.deps, batch)
              }
            }))
            const e = await stats(base)
            if (e.count !== pushes || e.unique !== pushes) throw new Error(`direct runPushes: the receiver got ${e.count} deliveries (${e.unique} distinct)`)
            engineMs.push(e.lastAt - e.firstAt)
          } finally {
            await api.close()
          }
        }

        await fetch(`${base}/reset`, { method: 'POST' })
        const body = await fs.readFile(bodyFile)
        await rawPosts(base, body, pushes)
        const r = await stats(base)
        if (r.count !== pushes) throw new Error(`raw POSTs: the receiver got ${r.count}`)
        rawMs.push(r.lastAt - r.firstAt)
        ctx.log(`push run ${run + 1}: ferry ${Math.round(ferryMs.at(-1)!)} ms (runPushes direct ${Math.round(engineMs.at(-1)!)} ms), ` +
          `undici ${Math.round(rawMs.at(-1)!)} ms for ${pushes} × ${bodyBytes} B`)
      }
    } finally {
      receiver.kill('SIGTERM')
      await database.drop()
    }
    const perSecond = (ms: number[]) => ms.map(m => pushes / (m / 1000))
    const mFerry = measure('ferry.perSecond', `Ferry webhook deliveries/s (${pushes} pushes, signed, recorded)`, 'deliveries/s', perSecond(ferryMs))
    const mEngine = measure('engine.perSecond',
      `Ferry deliveries/s without the queue (runPushes called directly by ${PUSH_LOOPS} loops of ${PUSH_BATCH}; for the profile)`,
      'deliveries/s', perSecond(engineMs))
    const mRaw = measure('undici.perSecond', `Raw undici POSTs/s of the same body (${CONCURRENCY} connections)`, 'POSTs/s', perSecond(rawMs))
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { pushes, bodyBytes, concurrency: CONCURRENCY, runs: ctx.runs },
      measures: [mFerry, mEngine, mRaw],
      comparisons: [
        compare('Ferry deliveries/s ÷ raw undici POSTs/s', mFerry, mRaw, { text: '≥ 0.2×', test: r => r >= 0.2 }),
        // not a target: shows how much of the gap is the queue's polling cadence (bench/findings.md)
        { ...compare('(diagnostic) runPushes without the queue ÷ raw undici', mEngine, mRaw, { text: '–', test: () => true }), pass: null },
      ],
      notes: ['Each Ferry delivery claims its delivery row (lease), loads sink, job and sync, streams the stored result rows as JSON, signs them, ' +
        'sends them through the guarded HTTP path, and records the attempt in the manifest — several PostgreSQL round trips and commits per push; ' +
        'the baseline sends bytes only. The receiver counted one delivery per webhook-id: no duplicate successful delivery.'],
    }
  },
}
