import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ApiKeyCache } from '../../../auth/api-key-cache.js'
import { createApiKey } from '../../../auth/api-keys.js'
import type { Deps } from '../../../deps.js'
import { deleteApiKey, listApiKeys } from '../../../db/sql/api-keys.js'
import { AppError } from '../../../errors.js'
import { IdParams, ListOf, Timestamp, Uuid, errorResponses } from '../../../schemas/common.js'

const ApiKey = Type.Object({
  id: Uuid,
  name: Type.String(),
  hint: Type.String({ description: 'last four characters of the key' }),
  isInstanceAdmin: Type.Boolean(),
  createdAt: Timestamp,
  lastUsedAt: Type.Union([Timestamp, Type.Null()]),
})

const apiKeyRoutes: FastifyPluginAsyncTypebox<{ deps: Deps, apiKeyCache: ApiKeyCache }> = async (app, { deps, apiKeyCache }) => {
  const { db } = deps

  app.post('/api-keys', {
    schema: {
      tags: ['api-keys'],
      summary: 'Create an API key for this organisation (the key is shown once)',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: { 201: Type.Object({ apiKey: Type.String(), key: ApiKey }), ...errorResponses(400) },
    },
  }, async (request, reply) => {
    const { record, plaintext } = await createApiKey(db, request.auth.orgId, { name: request.body.name })
    return reply.status(201).send({ apiKey: plaintext, key: record })
  })

  app.get('/api-keys', {
    schema: { tags: ['api-keys'], summary: 'List this organisation\'s API keys', response: { 200: ListOf(ApiKey), ...errorResponses() } },
  }, async (request) => ({ items: await listApiKeys(db, request.auth.orgId) }))

  app.delete('/api-keys/:id', {
    schema: { tags: ['api-keys'], summary: 'Revoke an API key', params: IdParams, response: { 204: Type.Null(), ...errorResponses(404, 409) } },
  }, async (request, reply) => {
    if (request.params.id === request.auth.keyId) throw new AppError('CONFLICT', 'An API key cannot revoke itself; use another key.')
    if (!await deleteApiKey(db, request.auth.orgId, request.params.id)) throw new AppError('NOT_FOUND', 'API key not found.')
    apiKeyCache.forget(request.params.id)
    return reply.status(204).send(null)
  })
}

export default apiKeyRoutes
