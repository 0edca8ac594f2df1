/**
 * Benchmark 5 — push: 1,000 webhook deliveries of a 50 KB result to a local receiver vs raw undici
 * POSTs of the same bodies. Depends on the RESULTS_SINK webhook pushes of issue 8; until they land
 * this reports PENDING.
 */
import type { Benchmark, BenchOutcome } from './lib/types.js'

export const pushBenchmark: Benchmark = {
  id: 'push',
  title: '5. Push: webhook deliveries vs raw undici POSTs',
  async run (): Promise<BenchOutcome> {
    return {
      id: this.id, title: this.title, status: 'pending', params: {}, measures: [], comparisons: [],
      notes: ['PENDING: webhook sinks (issue 8) have not landed on main yet; the benchmark is to be written against their push code.'],
    }
  },
}
