import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** One registry per runtime (tests run several in one process; the global registry would clash). */
export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'ferry_' })
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
  }
}

export type Metrics = ReturnType<typeof createMetrics>
