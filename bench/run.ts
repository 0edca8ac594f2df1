/**
 * `npm run bench` — Ferry against its peers and the physical limit (issue 10). Every benchmark is a
 * module of its own; this runner runs them one after another, then writes bench/results.json and
 * docs/benchmarks.md (machine, date, each figure as the median of the runs with min–max, the ratio
 * to its baseline, the target and PASS/MISS).
 *
 *   npm run bench                     full sizes (≈ 18 min on 2 cores once the fixtures are cached)
 *   npm run bench -- --quick          small sizes, same code paths (a smoke run; writes test-output/bench-quick/)
 *   npm run bench -- --only=ingest,api --runs=5
 *   npm run bench -- --only=api --profile=bench/tmp/prof   (--cpu-prof of the Ferry processes; summarise with
 *                                     node --import tsx bench/lib/profile-summary.ts <file>)
 *
 * Needs the local PostgreSQL server (test/helpers/db.ts) and, for the peer baselines, Debian's
 * awscli and rclone (bench/README.md). Runs with --openssl-legacy-provider (s3rver pagination).
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ingestBenchmark } from './ingest.js'
import { manyFilesBenchmark } from './many-files.js'
import { noopBenchmark } from './noop.js'
import { memoryBenchmark } from './memory.js'
import { formatsMemoryBenchmark } from './formats-memory.js'
import { pushBenchmark } from './push.js'
import { schedulerBenchmark } from './scheduler-run.js'
import { apiBenchmark } from './api.js'
import { retentionBenchmark } from './retention.js'
import { sftpManyBenchmark } from './sftp-many.js'
import { apiDuringIngestBenchmark } from './api-during-ingest.js'
import { machineInfo, type MachineInfo } from './lib/machine.js'
import { renderReport } from './lib/report.js'
import { ROOT } from './lib/proc.js'
import type { BenchContext, BenchOutcome, Benchmark } from './lib/types.js'

const BENCHMARKS: Benchmark[] = [
  ingestBenchmark, manyFilesBenchmark, noopBenchmark, memoryBenchmark, formatsMemoryBenchmark, pushBenchmark, schedulerBenchmark, apiBenchmark,
  retentionBenchmark, sftpManyBenchmark, apiDuringIngestBenchmark,
]

function arg (name: string): string | undefined {
  const hit = process.argv.slice(2).find(a => a === `--${name}` || a.startsWith(`--${name}=`))
  if (hit === undefined) return undefined
  return hit.includes('=') ? hit.slice(hit.indexOf('=') + 1) : ''
}

const quick = arg('quick') !== undefined
const runs = Math.max(3, Number(arg('runs') ?? 3))
const only = arg('only')?.split(',').filter(Boolean)
const selected = only ? BENCHMARKS.filter(b => only.includes(b.id)) : BENCHMARKS
if (only && selected.length !== only.length) {
  console.error(`unknown benchmark in --only; known: ${BENCHMARKS.map(b => b.id).join(', ')}`)
  process.exit(2)
}

const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-run-'))
const cacheDir = path.join(ROOT, 'bench/tmp/cache')
await fs.mkdir(cacheDir, { recursive: true })
const started = Date.now()
const log = (line: string) => { process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`) }
const profileDir = arg('profile') ? path.resolve(arg('profile')!) : undefined
if (profileDir) await fs.mkdir(profileDir, { recursive: true })
const ctx: BenchContext = { quick, runs, workDir, cacheDir, log, profileDir }

const machine: MachineInfo = await machineInfo()
log(`machine: ${machine.cpus} cpus, ${machine.memoryGiB} GiB, ${machine.cpuModel}, node ${machine.node}, PostgreSQL ${machine.postgres}; ` +
  `${quick ? 'QUICK' : 'full'} run, ${runs} runs each`)

const outcomes: BenchOutcome[] = []
try {
  for (const bench of selected) {
    log(`▶ ${bench.title}`)
    const t0 = Date.now()
    try {
      outcomes.push(await bench.run(ctx))
    } catch (err) {
      log(`✗ ${bench.id} failed: ${(err as Error).stack ?? err}`)
      outcomes.push({
        id: bench.id, title: bench.title, status: 'error', params: {}, measures: [], comparisons: [], notes: [`The benchmark failed: ${(err as Error).message}`]
      })
    }
    log(`■ ${bench.id} done in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  }
} finally {
  await fs.rm(workDir, { recursive: true, force: true })
}

const totalSeconds = Math.round((Date.now() - started) / 1000)
// a partial run (--only) merges into the previous results instead of dropping the others
const quickDir = path.join(ROOT, 'test-output/bench-quick')
if (quick) await fs.mkdir(quickDir, { recursive: true })
const resultsPath = quick ? path.join(quickDir, 'results.json') : path.join(ROOT, 'bench/results.json')
let previous: BenchOutcome[] = []
if (only) {
  try { previous = (JSON.parse(await fs.readFile(resultsPath, 'utf8')) as { benchmarks: BenchOutcome[] }).benchmarks } catch {}
}
const merged = BENCHMARKS.map(b => outcomes.find(o => o.id === b.id) ?? previous.find(o => o.id === b.id)).filter((o): o is BenchOutcome => o !== undefined)
const results = { machine, quick, runs, totalSeconds, benchmarks: merged }
await fs.writeFile(resultsPath, JSON.stringify(results, null, 2) + '\n')
let findings = ''
try { findings = await fs.readFile(path.join(ROOT, 'bench/findings.md'), 'utf8') } catch {}
const reportPath = quick ? path.join(quickDir, 'benchmarks.md') : path.join(ROOT, 'docs/benchmarks.md')
await fs.writeFile(reportPath, renderReport(results, findings))
log(`wrote ${path.relative(ROOT, resultsPath)} and ${path.relative(ROOT, reportPath)} (${totalSeconds} s)`)
for (const o of merged) {
  for (const c of o.comparisons) {
    log(`${o.id}: ${c.label}: ${c.ratio ? c.ratio.median.toPrecision(2) + '×' : ''} target ${c.target} → ${c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'MISS'}`)
  }
  if (o.status !== 'ok') log(`${o.id}: ${o.status}`)
}
process.exit(outcomes.some(o => o.status === 'error') ? 1 : 0)
