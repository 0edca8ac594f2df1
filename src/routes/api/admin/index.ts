import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { createOrganisation } from '../../../auth/service.js'
import type { Deps } from '../../../deps.js'
import { actorOf } from '../../../plugins/auth.js'
import { Timestamp, Uuid, errorResponses } from '../../../schemas/common.js'

const adminRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.post('/admin/orgs', {
    schema: {
      operationId: 'createOrganisation',
      tags: ['admin'],
      summary: 'Create an organisation and its first admin key (instance admin only)',
      body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
      response: {
        201: Type.Object({ org: Type.Object({ id: Uuid, name: Type.String(), createdAt: Timestamp }), apiKey: Type.String() }),
        ...errorResponses(400, 403),
      },
    },
  }, async (request, reply) => {
    // only the instance-admin key reaches this handler (src/auth/roles.ts); its own organisation's log records the creation
    const { org, apiKey } = await createOrganisation(deps, request.body.name, actorOf(request))
    return reply.status(201).send({ org, apiKey })
  })
}

export default adminRoutes
