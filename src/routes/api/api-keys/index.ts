import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ApiKeyCache } from '../../../auth/api-key-cache.js'
import { getOrganisation, issueApiKey, listApiKeysOf, revokeApiKey, type ApiKeyRecord } from '../../../auth/service.js'
import { listAuditLog } from '../../../audit/audit.js'
import type { Deps } from '../../../deps.js'
import { actorOf } from '../../../plugins/auth.js'
import { roleAtLeast, type Role } from '../../../auth/roles.js'
import { ApiKey, ApiKeyCreate, AuditEntry, AuditQuery, Me } from '../../../schemas/api-keys.js'
import { IdParams, ListOf, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'

/** A key as the API shows it: the hint (a credential's last characters) only to admin keys. */
const present = ({ orgId, hint, ...rest }: ApiKeyRecord, viewer: Role) => ({ ...rest, ...(roleAtLeast(viewer, 'admin') ? { hint } : {}) })

/** The organisation's API keys, the caller's own key (`/me`) and the audit log. */
const apiKeyRoutes: FastifyPluginAsyncTypebox<{ deps: Deps, apiKeyCache: ApiKeyCache }> = async (app, { deps, apiKeyCache }) => {
  app.get('/me', {
    schema: {
      operationId: 'getMe',
      tags: ['api-keys'],
      summary: 'The calling key: its organisation, name, role and expiry (what the UI may offer)',
      response: { 200: Me, ...errorResponses() },
    },
  }, async (request) => {
    const org = await getOrganisation(deps, request.auth.orgId)
    const { keyId, keyName, role, isInstanceAdmin, expiresAt } = request.auth
    return { org: { id: request.auth.orgId, name: org?.name ?? '' }, apiKey: { id: keyId, name: keyName, role, isInstanceAdmin, expiresAt } }
  })

  app.post('/api-keys', {
    schema: {
      operationId: 'createApiKey',
      tags: ['api-keys'],
      summary: 'Create an API key for this organisation with a role and an optional expiry (the key is shown once)',
      body: ApiKeyCreate,
      response: { 201: Type.Object({ apiKey: Type.String(), key: ApiKey }), ...errorResponses(400, 403) },
    },
  }, async (request, reply) => {
    const { name, role } = request.body
    const expiresAt = request.body.expiresAt ? new Date(request.body.expiresAt) : null
    const { record, plaintext } = await issueApiKey(deps, request.auth.orgId, { name, role, expiresAt }, actorOf(request))
    return reply.status(201).send({ apiKey: plaintext, key: present(record, request.auth.role) })
  })

  app.get('/api-keys', {
    schema: {
      operationId: 'listApiKeys', tags: ['api-keys'], summary: 'List this organisation\'s API keys', response: { 200: ListOf(ApiKey), ...errorResponses() },
    },
  }, async (request) => ({ items: (await listApiKeysOf(deps, request.auth.orgId, request.auth.keyId)).map(k => present(k, request.auth.role)) }))

  app.delete('/api-keys/:id', {
    schema: {
      operationId: 'deleteApiKey', tags: ['api-keys'], summary: 'Revoke an API key', params: IdParams,
      response: { 204: Type.Null(), ...errorResponses(403, 404, 409) },
    },
  }, async (request, reply) => {
    await revokeApiKey(deps, request.auth.orgId, request.params.id, actorOf(request))
    apiKeyCache.forget(request.params.id)
    return reply.status(204).send(null)
  })

  app.get('/audit-log', {
    schema: {
      operationId: 'listAuditLog',
      tags: ['api-keys'],
      summary: 'Who changed what, newest first (admin keys only); filter by resourceType and resourceId',
      querystring: AuditQuery,
      response: { 200: ListOf(AuditEntry), ...errorResponses(400, 403) },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 50
    const entries = await listAuditLog(deps, request.auth.orgId, {
      limit, before: decodeCursor(request.query.cursor), resourceType: request.query.resourceType, resourceId: request.query.resourceId,
    })
    return page(entries, limit, ({ orgId, ...rest }) => rest)
  })
}

export default apiKeyRoutes
