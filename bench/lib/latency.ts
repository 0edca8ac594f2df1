/** What `hammer` measured: per-request latency in ms, and how many requests were answered. */
export interface Latency { p50: number, p99: number, max: number, requests: number }

function percentile (sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN
}

/**
 * `clients` request loops against `url`, each sending its next request when the last was answered,
 * until `done` settles; a non-200 answer fails the benchmark.
 */
export async function hammer (url: string, headers: Record<string, string>, clients: number, done: Promise<unknown>): Promise<Latency> {
  const state = { stop: false }
  void done.catch(() => {}).finally(() => { state.stop = true })
  const times: number[] = []
  await Promise.all(Array.from({ length: clients }, async () => {
    while (!state.stop) {
      const start = performance.now()
      const res = await fetch(url, { headers })
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`)
      times.push(performance.now() - start)
    }
  }))
  times.sort((a, b) => a - b)
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), max: times.at(-1) ?? NaN, requests: times.length }
}
