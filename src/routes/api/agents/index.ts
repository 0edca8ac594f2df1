import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { createAgent, deleteAgent, listAgentsPage, requireAgent, updateAgent } from '../../../agents/service.js'
import { nextRunAfter } from '../../../domain/schedule.js'
import { AgentCreate, AgentPatch } from '../../../schemas/agents.js'
import { actorOf } from '../../../plugins/auth.js'
import { IdParams, ListOf, Page, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'

const present = (agent: Awaited<ReturnType<typeof requireAgent>>) => {
  const { orgId, ...rest } = agent
  return { ...rest, nextRunAt: nextRunAfter(agent.scheduleCron, agent.timezone, new Date())?.toISOString() ?? null }
}

const agentRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const { db } = deps
  const AgentRef = Type.Ref('Agent')

  app.post('/agents', {
    schema: {
      operationId: 'createAgent', tags: ['agents'], summary: 'Create an agent', body: AgentCreate, response: { 201: AgentRef, ...errorResponses(400) },
    },
  }, async (request, reply) => {
    const agent = await createAgent(deps, request.auth.orgId, request.body, actorOf(request))
    return reply.status(201).send(present(agent))
  })

  app.get('/agents', {
    schema: {
      operationId: 'listAgents', tags: ['agents'], summary: 'List agents', querystring: Page, response: { 200: ListOf(AgentRef), ...errorResponses(400) },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 50
    const agents = await listAgentsPage(deps, request.auth.orgId, { limit, after: decodeCursor(request.query.cursor) })
    return page(agents, limit, present)
  })

  app.get('/agents/:id', {
    schema: { operationId: 'getAgent', tags: ['agents'], summary: 'Get an agent', params: IdParams, response: { 200: AgentRef, ...errorResponses(404) } },
  }, async (request) => present(await requireAgent(db, request.auth.orgId, request.params.id)))

  app.patch('/agents/:id', {
    schema: {
      operationId: 'updateAgent', tags: ['agents'], summary: 'Update an agent', params: IdParams, body: AgentPatch,
      response: { 200: AgentRef, ...errorResponses(400, 404) },
    },
  }, async (request) => present(await updateAgent(deps, request.auth.orgId, request.params.id, request.body, actorOf(request))))

  app.delete('/agents/:id', {
    schema: {
      operationId: 'deleteAgent', tags: ['agents'], summary: 'Delete an agent and everything under it', params: IdParams,
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await deleteAgent(deps, request.auth.orgId, request.params.id, actorOf(request))
    return reply.status(204).send(null)
  })
}

export default agentRoutes
