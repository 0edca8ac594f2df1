import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { ApiKeyCache } from '../../../auth/api-key-cache.js'
import { createApiKey } from '../../../auth/api-keys.js'
import { recordAudit } from '../../../audit/audit.js'
import type { Deps } from '../../../deps.js'
import { deleteApiKey, listApiKeys, type ApiKeyRecord } from '../../../db/sql/api-keys.js'
import { listAuditEntries } from '../../../db/sql/audit.js'
import { getOrg } from '../../../db/sql/orgs.js'
import { AppError } from '../../../errors.js'
import { actorOf } from '../../../plugins/auth.js'
import { roleAtLeast, type Role } from '../../../auth/roles.js'
import { ApiKey, ApiKeyCreate, AuditEntry, AuditQuery, Me } from '../../../schemas/api-keys.js'
import { IdParams, ListOf, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'

/** A key as the API shows it: the hint (a credential's last characters) only to admin keys. */
const present = ({ orgId, hint, ...rest }: ApiKeyRecord, viewer: Role) => ({ ...rest, ...(roleAtLeast(viewer, 'admin') ? { hint } : {}) })

/** The organisation's API keys, the caller's own key (`/me`) and the audit log. */
const apiKeyRoutes: FastifyPluginAsyncTypebox<{ deps: Deps, apiKeyCache: ApiKeyCache }> = async (app, { deps, apiKeyCache }) => {
  const { db } = deps

  app.get('/me', {
    schema: {
      operationId: 'getMe',
      tags: ['api-keys'],
      summary: 'The calling key: its organisation, name, role and expiry (what the UI may offer)',
      response: { 200: Me, ...errorResponses() },
    },
  }, async (request) => {
    const org = await getOrg(db, request.auth.orgId)
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
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future.', { details: { field: 'expiresAt' } })
    }
    const { record, plaintext } = await db.transaction(async (tx) => {
      const created = await createApiKey(tx, request.auth.orgId, { name, role, expiresAt })
      await recordAudit(tx, actorOf(request), { action: 'create', resourceType: 'api_key', resourceId: created.record.id })
      return created
    })
    return reply.status(201).send({ apiKey: plaintext, key: present(record, request.auth.role) })
  })

  app.get('/api-keys', {
    schema: {
      operationId: 'listApiKeys', tags: ['api-keys'], summary: 'List this organisation\'s API keys', response: { 200: ListOf(ApiKey), ...errorResponses() },
    },
  }, async (request) => ({ items: (await listApiKeys(db, request.auth.orgId, request.auth.keyId)).map(k => present(k, request.auth.role)) }))

  app.delete('/api-keys/:id', {
    schema: {
      operationId: 'deleteApiKey', tags: ['api-keys'], summary: 'Revoke an API key', params: IdParams,
      response: { 204: Type.Null(), ...errorResponses(403, 404, 409) },
    },
  }, async (request, reply) => {
    if (request.params.id === request.auth.keyId) throw new AppError('CONFLICT', 'An API key cannot revoke itself; use another key.')
    await db.transaction(async (tx) => {
      if (!await deleteApiKey(tx, request.auth.orgId, request.params.id)) throw new AppError('NOT_FOUND', 'API key not found.')
      await recordAudit(tx, actorOf(request), { action: 'revoke', resourceType: 'api_key', resourceId: request.params.id })
    })
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
    const entries = await listAuditEntries(db, request.auth.orgId, {
      limit, before: decodeCursor(request.query.cursor), resourceType: request.query.resourceType, resourceId: request.query.resourceId,
    })
    return page(entries, limit, ({ orgId, ...rest }) => rest)
  })
}

export default apiKeyRoutes
