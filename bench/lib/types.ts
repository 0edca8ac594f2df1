/** What every benchmark module returns; bench/run.ts renders it into docs/benchmarks.md and bench/results.json. */

export interface Summary { median: number, min: number, max: number, n: number }

export interface Measure {
  /** stable id inside its benchmark, e.g. "ferry.rowsPerSecond" */
  id: string
  label: string
  unit: string
  samples: number[]
  summary: Summary
}

export interface Comparison {
  label: string
  /** the measure ids compared (ferry / baseline); absent baseline = an absolute target */
  ferry: string
  baseline?: string
  /** ferry ÷ baseline as the median of the paired per-run ratios, with their min–max */
  ratio?: Summary
  /** what the target says, e.g. "≥ 0.5×" or "≤ 300 MB" */
  target: string
  pass: boolean | null
}

export type BenchStatus = 'ok' | 'pending' | 'unavailable' | 'error'

export interface BenchOutcome {
  id: string
  title: string
  status: BenchStatus
  /** what was run, in numbers (sizes, runs, concurrency) */
  params: Record<string, unknown>
  measures: Measure[]
  comparisons: Comparison[]
  /** notes the report prints under the table: why a baseline is missing, what a profile showed … */
  notes: string[]
}

export interface BenchContext {
  quick: boolean
  runs: number
  /** scratch space for this run (removed at the end) */
  workDir: string
  /** persistent cache of generated fixtures (kept between runs: bench/tmp/cache, git-ignored) */
  cacheDir: string
  log (line: string): void
  /** --profile=DIR: Ferry processes the benchmarks start write --cpu-prof profiles there */
  profileDir?: string
}

export interface Benchmark {
  id: string
  title: string
  run (ctx: BenchContext): Promise<BenchOutcome>
}
