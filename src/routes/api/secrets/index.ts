import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { SecretCreate, SecretCreated, SecretPatch } from '../../../schemas/secrets.js'
import { IdParams, ListOf, Page, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'
import type { SecretRecord } from '../../../vault/vault.js'
import { validateSecretChange } from '../../../sources/service.js'
import { actorOf } from '../../../plugins/auth.js'

/** API form of a secret: metadata and the redacted value; never the value, never the org. */
const present = ({ orgId, ...rest }: SecretRecord) => rest

const secretRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const { vault } = deps
  const SecretRef = Type.Ref('Secret')

  app.post('/secrets', {
    schema: {
      operationId: 'createSecret',
      tags: ['secrets'],
      summary: 'Create a secret (a webhook secret without a value gets a generated signing secret, shown once)',
      body: SecretCreate,
      response: { 201: SecretCreated, ...errorResponses(400, 409) },
    },
  }, async (request, reply) => {
    const { secret, generatedSigningSecret } = await vault.create(request.auth.orgId, request.body, actorOf(request))
    return reply.status(201).send({
      ...present(secret),
      ...(generatedSigningSecret ? { signingSecret: generatedSigningSecret.reveal() } : {}),
    })
  })

  app.get('/secrets', {
    schema: {
      operationId: 'listSecrets', tags: ['secrets'], summary: 'List secrets (redacted)', querystring: Page,
      response: { 200: ListOf(SecretRef), ...errorResponses(400) },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 50
    const secrets = await vault.list(request.auth.orgId, { limit, after: decodeCursor(request.query.cursor) })
    return page(secrets, limit, present)
  })

  app.get('/secrets/:id', {
    schema: {
      operationId: 'getSecret', tags: ['secrets'], summary: 'Get a secret (redacted)', params: IdParams, response: { 200: SecretRef, ...errorResponses(404) },
    },
  }, async (request) => present(await vault.get(request.auth.orgId, request.params.id)))

  app.patch('/secrets/:id', {
    schema: {
      operationId: 'updateSecret',
      tags: ['secrets'],
      summary: 'Rename a secret and/or replace its value (a new value stamps rotatedAt)',
      params: IdParams,
      body: SecretPatch,
      response: { 200: SecretRef, ...errorResponses(400, 404, 409, 422) },
    },
  }, async (request) => {
    const { validate, ...patch } = request.body
    // a new value for a secret in use is pinged against every S3 source using it before it is stored
    if (validate !== false && patch.value !== undefined) await validateSecretChange(deps, request.auth.orgId, request.params.id, patch.value)
    return present(await vault.update(request.auth.orgId, request.params.id, patch, actorOf(request)))
  })

  app.delete('/secrets/:id', {
    schema: {
      operationId: 'deleteSecret',
      tags: ['secrets'],
      summary: 'Delete a secret (409 SECRET_IN_USE, naming the sources, while a data source uses it)',
      params: IdParams,
      response: { 204: Type.Null(), ...errorResponses(404, 409) },
    },
  }, async (request, reply) => {
    await vault.delete(request.auth.orgId, request.params.id, actorOf(request))
    return reply.status(204).send(null)
  })
}

export default secretRoutes
