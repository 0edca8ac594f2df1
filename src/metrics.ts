import { Cron } from 'croner'
import type { PgBoss } from 'pg-boss'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Queryable } from './db/client.js'
import { countRetryingPushes, countStaleSources, scheduledPatterns } from './db/sql/metrics.js'

/** What the operational gauges show, sampled from the database (src/metrics.ts sampleOps). */
export interface OpsSample {
  queues: Array<{ name: string, queued: number, deferred: number, active: number }>
  retryingPushes: number
  staleSources: number
}

export interface MetricsOptions {
  /** reads the operational gauges; called on scrape, at most once per `sampleEveryMs` */
  sample?: () => Promise<OpsSample>
  sampleEveryMs?: number
  /** a sample that failed: the gauges keep their last values */
  onSampleError?: (err: unknown) => void
}

/** How long a sample serves scrapes: several API processes and scrapers must not each count 10k sources. */
const SAMPLE_EVERY_MS = 10_000

/** One registry per runtime (tests run several in one process; the global registry would clash). */
export function createMetrics (options: MetricsOptions = {}) {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'ferry_' })
  const sampled = cachedSample(options)
  // no per-source label: 10k sources would make 10k series per gauge (docs/architecture.md "Signals")
  const queueJobs = new Gauge({
    name: 'ferry_queue_jobs',
    help: 'Jobs per queue and state: queued (waiting, deferred included), deferred (start later: retries, backoff), active',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect () {
      for (const q of (await sampled())?.queues ?? []) {
        this.set({ queue: q.name, state: 'queued' }, q.queued)
        this.set({ queue: q.name, state: 'deferred' }, q.deferred)
        this.set({ queue: q.name, state: 'active' }, q.active)
      }
    },
  })
  const retryingPushes = new Gauge({
    name: 'ferry_pushes_retrying',
    help: 'Pushes waiting for their next attempt after a failed one',
    registers: [registry],
    async collect () {
      const s = await sampled()
      if (s) this.set(s.retryingPushes)
    },
  })
  const staleSources = new Gauge({
    name: 'ferry_sources_stale',
    help: 'Scheduled sources without a successful pull for two runs of their schedule',
    registers: [registry],
    async collect () {
      const s = await sampled()
      if (s) this.set(s.staleSources)
    },
  })
  return {
    registry,
    httpRequests: new Histogram({
      name: 'ferry_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    syncs: new Counter({
      name: 'ferry_syncs_total',
      help: 'Finished syncs by direction, trigger and status',
      labelNames: ['direction', 'trigger', 'status'] as const,
      registers: [registry],
    }),
    rowsIngested: new Counter({
      name: 'ferry_rows_ingested_total',
      help: 'Inventory rows accepted by the pipeline',
      registers: [registry],
    }),
    queueJobs,
    retryingPushes,
    staleSources,
  }
}

export type Metrics = ReturnType<typeof createMetrics>

/** One sample shared by every gauge of a scrape and by the scrapes that follow within the interval. */
function cachedSample (options: MetricsOptions): () => Promise<OpsSample | undefined> {
  let last: { at: number, value: Promise<OpsSample | undefined> } | undefined
  return () => {
    const { sample } = options
    if (!sample) return Promise.resolve(undefined)
    if (!last || Date.now() - last.at >= (options.sampleEveryMs ?? SAMPLE_EVERY_MS)) {
      last = {
        at: Date.now(),
        value: sample().catch((err: unknown) => {
          options.onSampleError?.(err)
          // the next scrape tries again
          last = undefined
          return undefined
        }),
      }
    }
    return last.value
  }
}

/**
 * Reads the operational gauges: queue counts as pg-boss keeps them (refreshed by its monitor in
 * the worker processes, so up to a minute old), retrying pushes, and stale sources. A source is
 * stale when its last successful listing (`lastSyncedAt`; its creation if it never had one) is older
 * than the second-last run of its schedule: two scheduled runs in a row passed without success,
 * which is "older than twice the interval" for regular schedules and stays right for irregular ones
 * (weekdays only). Counted with one cron evaluation per distinct schedule, not per source.
 */
export async function sampleOps (db: Queryable, boss: PgBoss, now = new Date()): Promise<OpsSample> {
  const queues = (await boss.getQueues()).map(q => ({ name: q.name, queued: q.queuedCount, deferred: q.deferredCount, active: q.activeCount }))
  const since = (await scheduledPatterns(db)).flatMap(({ cron, timezone }) => {
    const [, secondLast] = new Cron(cron, { paused: true, timezone }).previousRuns(2, now)
    return secondLast ? [{ cron, timezone, since: secondLast.toISOString() }] : []
  })
  return { queues, retryingPushes: await countRetryingPushes(db), staleSources: await countStaleSources(db, since) }
}
