import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Deps } from './deps.js'
import { installAuth } from './plugins/auth.js'
import { ApiKeyCache } from './auth/api-key-cache.js'
import { installErrorHandling } from './plugins/errors.js'
import { installTextInputCheck } from './plugins/text-input.js'
import { leanSerializerFactory } from './plugins/lean-serializer.js'
import opsRoutes from './routes/ops.js'
import { PAGE_SECURITY_HEADERS, registerWeb, WEB_ROOT } from './plugins/web.js'
import adminRoutes from './routes/api/admin/index.js'
import agentRoutes from './routes/api/agents/index.js'
import apiKeyRoutes from './routes/api/api-keys/index.js'
import secretRoutes from './routes/api/secrets/index.js'
import uploadRoutes from './routes/api/uploads/index.js'
import sourceRoutes from './routes/api/sources/index.js'
import jobRoutes from './routes/api/jobs/index.js'
import pendingItemRoutes from './routes/api/pending-items/index.js'
import channelRoutes from './routes/api/channels/index.js'
import inboundRoutes from './routes/api/inbound/index.js'
import multipart from '@fastify/multipart'
import { ErrorResponse } from './schemas/common.js'
import { Agent } from './schemas/agents.js'
import { SecretSchema } from './schemas/secrets.js'
import { Upload } from './schemas/uploads.js'
import { Source as DataSource, Sync } from './schemas/sources.js'
import { PendingItemSchema } from './schemas/pending-items.js'
import { ChannelSchema } from './schemas/channels.js'
import { openApiOptions } from './openapi.js'

/** Builds the HTTP app: ops routes, OpenAPI, then the authenticated /api/v1 scope. */
export async function buildApp (deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // reject unknown fields instead of silently dropping them: a typo in a config must be seen
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
    // responses are serialised from their schemas with unions rewritten as plain types (same JSON, half the time)
    schemaController: { compilersFactory: { buildSerializer: leanSerializerFactory() } },
    bodyLimit: 1024 * 1024,
    trustProxy: false,
    // slow clients: a request whose headers or whole body take longer is answered 408 and its
    // socket closed (issue #14; docs/reliability.md). Node checks these on a timer: every quarter
    // of the shorter timeout (at most 30 s, its default) keeps the overshoot proportionate.
    requestTimeout: deps.config.httpRequestTimeoutMs,
    http: {
      headersTimeout: deps.config.httpHeadersTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(deps.config.httpHeadersTimeoutMs / 4))),
    },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.addSchema(ErrorResponse)
  app.addSchema(Agent)
  app.addSchema(SecretSchema)
  app.addSchema(Upload)
  app.addSchema(DataSource)
  app.addSchema(Sync)
  app.addSchema(PendingItemSchema)
  app.addSchema(ChannelSchema)
  installErrorHandling(app)
  installTextInputCheck(app)

  await app.register(swagger, openApiOptions(deps.config))
  // Swagger UI loads only its own scripts and styles (no inline ones, no CDN), so the UI's policy
  // fits it unchanged; "Try it out" holds an API key like the UI does (docs/security.md)
  await app.register(async (docs) => {
    docs.addHook('onSend', async (_request, reply, payload) => {
      reply.headers(PAGE_SECURITY_HEADERS)
      return payload
    })
    await docs.register(swaggerUi, { routePrefix: '/docs', uiConfig: { validatorUrl: null } })
  })

  // an answer given while the process stops closes its connection (a request cut off by the
  // shutdown may still be sending its body: Node would otherwise keep reading it)
  app.addHook('onSend', async (_request, reply, payload) => {
    if (deps.signal.aborted) reply.header('connection', 'close')
    return payload
  })

  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.httpRequests.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000)
  })

  await app.register(multipart, { limits: { files: 1, fileSize: deps.config.limits.maxFileBytes } })
  await app.register(opsRoutes, { deps })
  await registerWeb(app, { root: WEB_ROOT })
  await app.register(async (api) => {
    const apiKeyCache = new ApiKeyCache(deps.config.apiKeyCacheMs)
    installAuth(api, deps.db, apiKeyCache)
    await api.register(adminRoutes, { deps })
    await api.register(apiKeyRoutes, { deps, apiKeyCache })
    await api.register(secretRoutes, { deps })
    await api.register(agentRoutes, { deps })
    await api.register(uploadRoutes, { deps })
    await api.register(sourceRoutes, { deps })
    await api.register(jobRoutes, { deps })
    await api.register(pendingItemRoutes, { deps })
    await api.register(channelRoutes, { deps })
    await api.register(inboundRoutes, { deps })
  }, { prefix: '/api/v1' })

  return app
}
