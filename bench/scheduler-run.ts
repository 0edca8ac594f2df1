/**
 * Benchmark 6 — scheduler: 10,000 sources due on the same minute, 2 workers on PostgreSQL.
 * The scenario itself is bench/scheduler.ts (written with the scheduler, issue 6); this module runs it
 * once per run as a child process and reads the JSON line it prints:
 * {sources, msToLastEnqueue, duplicates, misses}.
 */
import fs from 'node:fs'
import path from 'node:path'
import { lastJson, ROOT, runTs } from './lib/proc.js'
import { absolute, measure } from './lib/stats.js'
import type { Benchmark, BenchOutcome } from './lib/types.js'

interface SchedulerResult { sources: number, msToLastEnqueue: number, duplicates: number, misses: number }

export const schedulerBenchmark: Benchmark = {
  id: 'scheduler',
  title: '6. Scheduler: sources due on the same minute, 2 workers on PostgreSQL',
  async run (ctx): Promise<BenchOutcome> {
    const entry = path.join(ROOT, 'bench/scheduler.ts')
    if (!fs.existsSync(entry)) {
      return {
        id: this.id, title: this.title, status: 'pending', params: {}, measures: [], comparisons: [],
        notes: ['PENDING: bench/scheduler.ts (the scheduler scenario of issue 6) does not exist yet; this runner calls it as soon as it lands.'],
      }
    }
    const results: SchedulerResult[] = []
    for (let i = 0; i < ctx.runs; i++) {
      const res = await runTs('bench/scheduler.ts', ctx.quick ? ['--quick'] : [], { nodeArgs: ['--openssl-legacy-provider'], timeoutMs: 15 * 60_000 })
      if (res.code !== 0) throw new Error(`bench/scheduler.ts exited ${res.code}: ${res.stderr.slice(-800)}`)
      const out = lastJson<SchedulerResult>(res.stdout)
      results.push(out)
      ctx.log(`scheduler run ${i + 1}: ${out.sources} sources, last enqueue after ${Math.round(out.msToLastEnqueue)} ms, ` +
        `${out.duplicates} duplicates, ${out.misses} misses`)
    }
    const sources = results[0]?.sources ?? 0
    const ms = measure('msToLastEnqueue', `Time from the due minute to the last of ${sources.toLocaleString('en-US')} pulls enqueued`,
      'ms', results.map(r => r.msToLastEnqueue))
    const dup = measure('duplicates', 'Duplicate enqueues (same source, same minute)', 'count', results.map(r => r.duplicates))
    const miss = measure('misses', 'Sources never enqueued for that minute', 'count', results.map(r => r.misses))
    return {
      id: this.id,
      title: this.title,
      status: 'ok',
      params: { sources, workers: 2, runs: ctx.runs },
      measures: [ms, dup, miss],
      comparisons: [
        absolute('Time to last enqueue', ms, { text: '≤ 5 s', test: v => v <= 5000 }),
        { ...absolute('Duplicates (worst run)', dup, { text: '0', test: () => true }), pass: results.every(r => r.duplicates === 0) },
        { ...absolute('Misses (worst run)', miss, { text: '0', test: () => true }), pass: results.every(r => r.misses === 0) },
      ],
      notes: [],
    }
  },
}
