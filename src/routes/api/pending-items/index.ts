import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { listPendingItems, resolveManually } from '../../../pending-items/pending-items.js'
import { presentItem } from '../../../pending-items/present.js'
import { actorOf } from '../../../plugins/auth.js'
import { IdParams, ListOf, errorResponses } from '../../../schemas/common.js'
import { PendingItemParams, PendingItemQuery } from '../../../schemas/pending-items.js'

/** docs/scaling.md, "Failures of scheduled pulls": `GET /agents/{id}/pending-items?status=`, `POST …/pending-items/{pid}/resolve`. */
const pendingItemRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const ItemRef = Type.Ref('PendingItem')

  app.get('/agents/:id/pending-items', {
    schema: {
      operationId: 'listPendingItems',
      tags: ['pending-items'],
      summary: 'An agent\'s pending items: open ones first, then the most recently seen',
      params: IdParams,
      querystring: PendingItemQuery,
      response: { 200: ListOf(ItemRef), ...errorResponses(400, 404) },
    },
  }, async (request) => {
    const items = await listPendingItems(deps, request.auth.orgId, request.params.id, { status: request.query.status, limit: request.query.limit ?? 50 })
    return { items: items.map(presentItem) }
  })

  app.post('/agents/:id/pending-items/:pid/resolve', {
    schema: {
      operationId: 'resolvePendingItem',
      tags: ['pending-items'],
      summary: 'Resolve an item by hand (resolution "manual"); its channels hear of it. Resolving a resolved item changes nothing.',
      params: PendingItemParams,
      response: { 200: ItemRef, ...errorResponses(404) },
    },
  }, async (request) => {
    const item = await resolveManually(deps, { orgId: request.auth.orgId, agentId: request.params.id, itemId: request.params.pid, actor: actorOf(request) })
    return presentItem(item)
  })
}

export default pendingItemRoutes
