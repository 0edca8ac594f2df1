import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { agentOr404 } from '../../../db/lookups.js'
import { getItem, listItems } from '../../../db/sql/pending-items.js'
import { AppError } from '../../../errors.js'
import { resolveManually } from '../../../pending-items/pending-items.js'
import { presentItem } from '../../../pending-items/present.js'
import { actorOf } from '../../../plugins/auth.js'
import { IdParams, ListOf, errorResponses } from '../../../schemas/common.js'
import { PendingItemParams, PendingItemQuery } from '../../../schemas/pending-items.js'

/** SPEC §4: `GET /agents/{id}/pending-items?status=`, `POST …/pending-items/{pid}/resolve`. */
const pendingItemRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const { db } = deps
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
    const agent = await agentOr404(db, request.auth.orgId, request.params.id)
    const items = await listItems(db, request.auth.orgId, agent.id, { status: request.query.status, limit: request.query.limit ?? 50 })
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
    const { orgId } = request.auth
    const agent = await agentOr404(db, orgId, request.params.id)
    const resolved = await resolveManually(deps, { orgId, agentId: agent.id, itemId: request.params.pid, actor: actorOf(request) })
    if (resolved) return presentItem(resolved)
    const item = await getItem(db, orgId, agent.id, request.params.pid)
    if (!item) throw new AppError('NOT_FOUND', 'Pending item not found.')
    return presentItem(item)
  })
}

export default pendingItemRoutes
