import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { requireAgent } from '../../../agents/service.js'
import {
  createChannel, deleteChannel, listChannelsOf, listDeliveries, presentChannels, requireChannel, testChannel, updateChannel,
} from '../../../channels/service.js'
import { IdParams, ListOf, errorResponses } from '../../../schemas/common.js'
import { actorOf } from '../../../plugins/auth.js'
import { ChannelCreate, ChannelParams, ChannelPatch, ChannelTestResult, Delivery } from '../../../schemas/channels.js'

/** `POST/GET /agents/{id}/channels`, `PATCH/DELETE …/{cid}`, `POST …/{cid}/test` */
const channelRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const { db } = deps
  const ChannelRef = Type.Ref('Channel')

  app.post('/agents/:id/channels', {
    schema: {
      operationId: 'createChannel',
      tags: ['channels'],
      summary: 'Add a notification channel: slack { url }, webhook { url, secretRef? }, email { to: [addresses] }',
      params: IdParams,
      body: ChannelCreate,
      response: { 201: ChannelRef, ...errorResponses(400, 404, 422) },
    },
  }, async (request, reply) => {
    const agent = await requireAgent(db, request.auth.orgId, request.params.id)
    const channel = await createChannel(deps, request.auth.orgId, agent.id, request.body, actorOf(request))
    const [out] = await presentChannels(deps, request.auth.orgId, [channel])
    return reply.status(201).send(out)
  })

  app.get('/agents/:id/channels', {
    schema: {
      operationId: 'listChannels', tags: ['channels'], summary: 'An agent\'s channels', params: IdParams,
      response: { 200: ListOf(ChannelRef), ...errorResponses(404) },
    },
  }, async (request) => {
    return { items: await presentChannels(deps, request.auth.orgId, await listChannelsOf(deps, request.auth.orgId, request.params.id)) }
  })

  app.get('/agents/:id/channels/:cid/deliveries', {
    schema: {
      operationId: 'listChannelDeliveries',
      tags: ['channels'],
      summary: 'The channel\'s last notifications (newest first): event, status, attempts, last error',
      params: ChannelParams,
      querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })) }),
      response: { 200: ListOf(Delivery), ...errorResponses(404) },
    },
  }, async (request) => {
    const deliveries = await listDeliveries(deps, request.auth.orgId, request.params.id, request.params.cid, request.query.limit ?? 20)
    return { items: deliveries.map(({ orgId: _orgId, channelId: _channelId, ...rest }) => rest) }
  })

  app.patch('/agents/:id/channels/:cid', {
    schema: {
      operationId: 'updateChannel',
      tags: ['channels'],
      summary: 'Rename a channel and/or change its config (fields merged onto the stored config; null removes secretRef)',
      params: ChannelParams,
      body: ChannelPatch,
      response: { 200: ChannelRef, ...errorResponses(400, 404, 422) },
    },
  }, async (request) => {
    const channel = await updateChannel(deps, request.auth.orgId, request.params.id, request.params.cid, request.body, actorOf(request))
    const [out] = await presentChannels(deps, request.auth.orgId, [channel])
    return out
  })

  app.delete('/agents/:id/channels/:cid', {
    schema: {
      operationId: 'deleteChannel',
      tags: ['channels'],
      summary: 'Delete a channel (its pending notifications are dropped)',
      params: ChannelParams,
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await deleteChannel(deps, request.auth.orgId, request.params.id, request.params.cid, actorOf(request))
    return reply.status(204).send(null)
  })

  app.post('/agents/:id/channels/:cid/test', {
    schema: {
      operationId: 'testChannel',
      tags: ['channels'],
      summary: 'Send a test message now; { ok, status?, message } says how it went',
      params: ChannelParams,
      response: { 200: ChannelTestResult, ...errorResponses(404) },
    },
  }, async (request) => {
    const channel = await requireChannel(deps, request.auth.orgId, request.params.id, request.params.cid)
    const { ok, status, message } = await testChannel(deps, channel, actorOf(request))
    return { ok, ...(status !== undefined ? { status } : {}), message }
  })
}

export default channelRoutes
