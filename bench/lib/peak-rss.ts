import { startFerry } from './ferry.js'
import path from 'node:path'
import { lastJson, ROOT, run } from './proc.js'
import type { BenchContext } from './types.js'

const MB = 1024 * 1024

/** One object to pull: what it is (`kind`), where it lies in the bucket "bench", and how many rows it holds. */
export type PullCase<K extends string> = readonly [kind: K, prefix: string, rows: number]

/**
 * The memory benchmarks' runs: `ctx.runs` times, each case pulled by a fresh worker process
 * (bench/lib/pull-child.mjs) from s3rver's bucket "bench", on a fresh Ferry with `env`. Returns each
 * kind's peak RSS (bytes) and duration (ms) per run; a pull that does not take every row fails.
 * The child runs the compiled dist/ under plain node, as `npm start` does (built first if stale).
 */
export async function pullPeaks<K extends string> (ctx: BenchContext, { endpoint, cases, env, label }: {
  endpoint: string, cases: ReadonlyArray<PullCase<K>>, env?: Record<string, string>, label: string
}): Promise<{ rss: Record<K, number[]>, secs: Record<K, number[]> }> {
  await run(process.execPath, [path.join(ROOT, 'scripts/build-if-needed.js')], { timeoutMs: 600_000 })
  const rss = Object.fromEntries(cases.map(([kind]) => [kind, []])) as unknown as Record<K, number[]>
  const secs = Object.fromEntries(cases.map(([kind]) => [kind, []])) as unknown as Record<K, number[]>
  for (let i = 0; i < ctx.runs; i++) {
    for (const [kind, prefix, rows] of cases) {
      const f = await startFerry(env ? { env } : {})
      try {
        const source = await f.addS3Source({ endpoint, bucket: 'bench', prefix })
        const res = await run(process.execPath, [path.join(ROOT, 'bench/lib/pull-child.mjs'), source.id], {
          env: { ...process.env, ...f.env, FERRY_PULL_CHILD_CODE: 'dist' },
        })
        if (res.code !== 0) throw new Error(`the pull child failed (${res.code}): ${res.stdout.slice(-300)} ${res.stderr.slice(-500)}`)
        const out = lastJson<{ status: string, rowsAccepted: number, ms: number, maxRssBytes: number }>(res.stdout)
        if (out.status !== 'succeeded' || out.rowsAccepted !== rows) {
          throw new Error(`${kind} pull ended ${out.status} with ${out.rowsAccepted} rows, expected ${rows}`)
        }
        rss[kind].push(out.maxRssBytes)
        secs[kind].push(out.ms)
        ctx.log(`${label} run ${i + 1}: ${kind} peak RSS ${(out.maxRssBytes / MB).toFixed(0)} MiB, ${Math.round(out.ms)} ms`)
      } finally {
        await f.close()
      }
    }
  }
  return { rss, secs }
}
