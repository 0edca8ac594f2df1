import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Readable } from 'node:stream'
import { orgOfApiKey } from '../../../auth/service.js'
import type { Deps } from '../../../deps.js'
import { INBOUND_CONTENT_TYPES } from '../../../inbound/content.js'
import { InboundLimits } from '../../../inbound/limits.js'
import { receiveInbound } from '../../../inbound/receive.js'
import { errorResponses } from '../../../schemas/common.js'
import { InboundAnswer, InboundParams } from '../../../schemas/inbound.js'

/**
 * The inbound webhook receiver. Its own encapsulated scope: no content-type parser here buffers a
 * body — every request's raw stream is handed to the handler, which verifies and spools it
 * (src/inbound). The signature authenticates, not a bearer key (`public` in src/auth/roles.ts).
 */
const inboundRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })

  // per API process; only verified deliveries count toward a source's limit (src/inbound/limits.ts)
  const limits = new InboundLimits({
    perSourcePerMinute: deps.config.inboundRateLimitPerMinute,
    unverifiedPerMinute: deps.config.inboundUnverifiedRateLimitPerMinute,
    concurrentPerSource: deps.config.inboundMaxConcurrentPerSource,
  })

  // An answer given before the body was read to its end (a refusal, 413 mid-stream) closes the
  // connection: otherwise Node would read and discard the rest of a body nobody wants.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!request.raw.readableEnded) reply.header('connection', 'close')
    return payload
  })

  app.post('/inbound/:sourceId', {
    // src/auth/roles.ts lists this route as public: the signature authenticates
    schema: {
      operationId: 'receiveInboundDelivery',
      tags: ['inbound'],
      summary: 'Receive an inventory file pushed by a customer (Standard Webhooks signature, not a bearer key)',
      description: 'The body is the file. Headers: webhook-id, webhook-timestamp, ' +
        'webhook-signature (v1,<base64 HMAC-SHA256 of "id.timestamp.body"> with the source\'s whsec_ secret; ' +
        'several space-separated signatures are accepted while rotating), Content-Type, optional X-File-Name. ' +
        'Bad or missing signature or a timestamp off by more than 5 minutes → 401; ' +
        'past FERRY_INBOUND_RATE_LIMIT_PER_MINUTE verified deliveries a minute, FERRY_INBOUND_UNVERIFIED_RATE_LIMIT_PER_MINUTE failed ones from one address, ' +
        'or FERRY_INBOUND_MAX_CONCURRENT_PER_SOURCE at once → 429 with Retry-After; body over FERRY_INBOUND_MAX_BYTES → 413; ' +
        'unknown, disabled or another organisation\'s source → 404; a replayed webhook-id → the original answer with duplicate: true. ' +
        'A file that lands answers 200 with its counts; a file refused whole answers 422 (or 413) with the reason and details.syncId. ' +
        'See docs/recipes/push-inventory-to-ferry.md.',
      security: [],
      consumes: Object.keys(INBOUND_CONTENT_TYPES),
      params: InboundParams,
      response: { 200: InboundAnswer, ...errorResponses(404, 408, 413, 415, 422, 429) },
    },
  }, async (request) => {
    return receiveInbound(deps, {
      sourceId: request.params.sourceId,
      headers: request.headers,
      body: request.body as Readable | undefined,
      callerOrgId: await callerOrg(deps, request.headers.authorization),
      clientAddress: request.ip,
    }, limits)
  })
}

/**
 * No API key is needed; one that is sent must be valid, and then only its organisation's sources
 * answer (another organisation's id is a 404, as everywhere in the API).
 */
async function callerOrg (deps: Deps, authorization: string | undefined): Promise<string | undefined> {
  if (authorization === undefined) return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  if (!match) return undefined
  return orgOfApiKey(deps, match[1])
}

export default inboundRoutes
