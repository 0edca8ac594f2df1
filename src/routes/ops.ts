import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../deps.js'
import { migrationsCurrent } from '../db/migrate.js'
import { AppError } from '../errors.js'
import { ERROR_RESPONSES } from '../schemas/common.js'

const digest = (value: string): Buffer => createHash('sha256').update(value).digest()

const Status = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) })

/** Liveness, readiness and metrics: outside /api/v1, without an API key (metrics: an optional token of their own). */
const opsRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get('/healthz', { schema: { operationId: 'getHealth', tags: ['ops'], summary: 'The process is alive', security: [], response: { 200: Status } } },
    async () => ({ status: 'ok' }))

  app.get('/readyz', {
    schema: {
      operationId: 'getReadiness', tags: ['ops'], summary: 'Database reachable and migrations applied', security: [], response: { 200: Status, 503: Status },
    },
  }, async (_request, reply) => {
    const checks: Record<string, string> = {}
    try {
      checks.database = 'ok'
      checks.migrations = await migrationsCurrent(deps.db) ? 'ok' : 'pending'
      checks.queue = await deps.isReady() ? 'ok' : 'starting'
    } catch {
      checks.database = 'unreachable'
    }
    const ok = Object.values(checks).every(v => v === 'ok')
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks })
  })

  const token = deps.config.metricsToken
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`)
  app.get('/metrics', {
    schema: {
      operationId: 'getMetrics',
      tags: ['ops'],
      summary: 'Prometheus metrics (needs "Authorization: Bearer <FERRY_METRICS_TOKEN>" when that is set)',
      // no API key: open, or the metrics token when one is set
      security: [{}, { metricsToken: [] }],
      response: {
        200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } },
        401: Type.Ref('ErrorResponse', { description: ERROR_RESPONSES[401].description }),
      },
    },
  }, async (request, reply) => {
    // digests of equal length, compared in constant time: the answer's timing says nothing of the token
    if (expected !== undefined && !timingSafeEqual(digest(request.headers.authorization ?? ''), expected)) {
      throw new AppError('UNAUTHORIZED', 'GET /metrics needs "Authorization: Bearer <FERRY_METRICS_TOKEN>".')
    }
    reply.header('content-type', deps.metrics.registry.contentType)
    return deps.metrics.registry.metrics()
  })
}

export default opsRoutes
