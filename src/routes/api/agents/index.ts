import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { resolveAgent, type AgentInput } from '../../../domain/agent.js'
import type { Queryable } from '../../../db/client.js'
import { channelIdsOf } from '../../../db/sql/channels.js'
import { compileProjection } from '../../../mapping/projection.js'
import { nextRunAfter } from '../../../domain/schedule.js'
import { deleteAgent, getAgent, insertAgent, listAgents, updateAgent, type Agent } from '../../../db/sql/agents.js'
import { AppError } from '../../../errors.js'
import { AgentCreate, AgentPatch } from '../../../schemas/agents.js'
import { newId } from '../../../util/ids.js'
import { refreshNextPulls } from '../../../sources/service.js'
import { recordAudit, diff } from '../../../audit/audit.js'
import { actorOf } from '../../../plugins/auth.js'
import { IdParams, ListOf, Page, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'

const present = (agent: Agent) => {
  const { orgId, ...rest } = agent
  return { ...rest, nextRunAt: nextRunAfter(agent.scheduleCron, agent.timezone, new Date())?.toISOString() ?? null }
}

/** What an agent's update records in the audit log (docs/security.md, "Audit log"). */
const AGENT_FIELDS = ['name', 'scheduleCron', 'timezone', 'rules', 'mapping'] as const
/**
 * What the schema cannot check, in the request's own fields, at save time rather than in every
 * later job or alert:
 * - `mapping.output` compiles (each `from` a canonical field or `attributes.<name>`: `__proto__`,
 *   `constructor` or a typo would otherwise fail every mapping job);
 * - the channel ids sent in `rules.onPullFailure.notify` are channels of this very agent (channels
 *   belong to an agent: another organisation's or another agent's id would never be notified).
 *   Only ids in the request are checked, so a PATCH of something else still works after a channel
 *   was deleted (its id is then ignored when notifying).
 */
async function checkReferences (q: Queryable, agentId: string, input: AgentInput): Promise<void> {
  if (input.mapping?.output) compileProjection(input.mapping.output)
  const notify = input.rules?.onPullFailure?.notify
  if (notify === undefined || notify === 'all' || notify.length === 0) return
  const known = new Set(await channelIdsOf(q, agentId, notify))
  const i = notify.findIndex(id => !known.has(id))
  if (i !== -1) {
    const field = `rules.onPullFailure.notify[${i}]`
    throw new AppError('VALIDATION_FAILED', `${field} is not a channel of this agent; add the channel to the agent first, or use "all".`,
      { details: { field } })
  }
}

const agentRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const { db } = deps
  const AgentRef = Type.Ref('Agent')

  app.post('/agents', {
    schema: {
      operationId: 'createAgent', tags: ['agents'], summary: 'Create an agent', body: AgentCreate, response: { 201: AgentRef, ...errorResponses(400) },
    },
  }, async (request, reply) => {
    const fields = resolveAgent(request.body)
    const id = newId()
    await checkReferences(db, id, request.body)
    const agent = await db.transaction(async (tx) => {
      const created = await insertAgent(tx, request.auth.orgId, id, fields)
      await recordAudit(tx, actorOf(request), { action: 'create', resourceType: 'agent', resourceId: created.id })
      return created
    })
    return reply.status(201).send(present(agent))
  })

  app.get('/agents', {
    schema: {
      operationId: 'listAgents', tags: ['agents'], summary: 'List agents', querystring: Page, response: { 200: ListOf(AgentRef), ...errorResponses(400) },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 50
    const agents = await listAgents(db, request.auth.orgId, { limit, after: decodeCursor(request.query.cursor) })
    return page(agents, limit, present)
  })

  app.get('/agents/:id', {
    schema: { operationId: 'getAgent', tags: ['agents'], summary: 'Get an agent', params: IdParams, response: { 200: AgentRef, ...errorResponses(404) } },
  }, async (request) => {
    const agent = await getAgent(db, request.auth.orgId, request.params.id)
    if (!agent) throw new AppError('NOT_FOUND', 'Agent not found.')
    return present(agent)
  })

  app.patch('/agents/:id', {
    schema: {
      operationId: 'updateAgent', tags: ['agents'], summary: 'Update an agent', params: IdParams, body: AgentPatch,
      response: { 200: AgentRef, ...errorResponses(400, 404) },
    },
  }, async (request) => {
    const updated = await db.transaction(async (tx) => {
      const current = await getAgent(tx, request.auth.orgId, request.params.id)
      if (!current) throw new AppError('NOT_FOUND', 'Agent not found.')
      const fields = resolveAgent(request.body, current)
      await checkReferences(tx, current.id, request.body)
      const agent = await updateAgent(tx, request.auth.orgId, current.id, fields)
      if (agent) {
        await refreshNextPulls(tx, agent)
        await recordAudit(tx, actorOf(request), { action: 'update', resourceType: 'agent', resourceId: agent.id, changes: diff(current, agent, AGENT_FIELDS) })
      }
      return agent
    })
    if (!updated) throw new AppError('NOT_FOUND', 'Agent not found.')
    return present(updated)
  })

  app.delete('/agents/:id', {
    schema: {
      operationId: 'deleteAgent', tags: ['agents'], summary: 'Delete an agent and everything under it', params: IdParams,
      response: { 204: Type.Null(), ...errorResponses(404) },
    },
  }, async (request, reply) => {
    await db.transaction(async (tx) => {
      if (!await deleteAgent(tx, request.auth.orgId, request.params.id)) throw new AppError('NOT_FOUND', 'Agent not found.')
      await recordAudit(tx, actorOf(request), { action: 'delete', resourceType: 'agent', resourceId: request.params.id })
    })
    return reply.status(204).send(null)
  })
}

export default agentRoutes
