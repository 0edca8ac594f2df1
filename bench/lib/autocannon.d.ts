// autocannon ships no types; the part of its programmatic API the API benchmark uses
declare module 'autocannon' {
  interface Options { url: string, headers?: Record<string, string>, connections?: number, pipelining?: number, duration?: number }
  interface Histogram { average: number, mean: number, p50: number, p90: number, p99: number, max: number, total: number }
  interface Result { requests: Histogram, latency: Histogram, throughput: Histogram, non2xx: number, errors: number, timeouts: number }
  function autocannon (options: Options): Promise<Result>
  export default autocannon
}
