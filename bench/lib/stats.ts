import type { Comparison, Measure, Summary } from './types.js'

export function summarise (samples: number[]): Summary {
  const sorted = [...samples].filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 }
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length }
}

export function measure (id: string, label: string, unit: string, samples: number[]): Measure {
  return { id, label, unit, samples, summary: summarise(samples) }
}

/**
 * Compares two measures run by run (run i of Ferry against run i of the baseline, which ran right
 * after it): the ratio is the median of the paired ratios, with their min–max.
 */
export function compare (label: string, ferry: Measure, baseline: Measure, target: { text: string, test: (ratio: number) => boolean }): Comparison {
  const n = Math.min(ferry.samples.length, baseline.samples.length)
  const ratios: number[] = []
  for (let i = 0; i < n; i++) ratios.push(ferry.samples[i] / baseline.samples[i])
  const ratio = summarise(ratios)
  return { label, ferry: ferry.id, baseline: baseline.id, ratio, target: target.text, pass: Number.isFinite(ratio.median) ? target.test(ratio.median) : null }
}

/** An absolute target on the median of one measure. */
export function absolute (label: string, m: Measure, target: { text: string, test: (median: number) => boolean }): Comparison {
  return { label, ferry: m.id, target: target.text, pass: Number.isFinite(m.summary.median) ? target.test(m.summary.median) : null }
}

/** Wall-clock milliseconds of one call. */
export async function timed<T> (fn: () => Promise<T>): Promise<{ ms: number, value: T }> {
  const start = process.hrtime.bigint()
  const value = await fn()
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value }
}
