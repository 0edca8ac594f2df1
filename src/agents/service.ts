import type { Deps } from '../deps.js'
import type { Queryable } from '../db/client.js'
import { deleteAgent as removeAgent, getAgent, insertAgent, listAgents, updateAgent as writeAgent, type Agent } from '../db/sql/agents.js'
import { channelIdsOf } from '../db/sql/channels.js'
import { listSourcesOfAgent, setNextPullAt } from '../db/sql/sources.js'
import { resolveAgent, type AgentInput } from '../domain/agent.js'
import { computeNextPullAt } from '../sources/next-pull.js'
import { AppError } from '../errors.js'
import { compileProjection } from '../mapping/projection.js'
import { newId } from '../util/ids.js'
import { diff, recordAudit, type Actor } from '../audit/audit.js'

/** What an agent's update records in the audit log (docs/security.md, "Audit log"). */
const AGENT_FIELDS = ['name', 'scheduleCron', 'timezone', 'rules', 'mapping'] as const

const agentNotFound = (): AppError => new AppError('NOT_FOUND', 'Agent not found.')

/**
 * The organisation-scoped lookup every nested route starts with. Another organisation's id and a
 * missing one answer the same NOT_FOUND.
 */
export async function requireAgent (q: Queryable, orgId: string, agentId: string): Promise<Agent> {
  const agent = await getAgent(q, orgId, agentId)
  if (!agent) throw agentNotFound()
  return agent
}

export async function createAgent (deps: Pick<Deps, 'db'>, orgId: string, input: AgentInput, actor: Actor): Promise<Agent> {
  const fields = resolveAgent(input)
  const id = newId()
  await checkReferences(deps.db, id, input)
  return deps.db.transaction(async (tx) => {
    const created = await insertAgent(tx, orgId, id, fields)
    await recordAudit(tx, actor, { action: 'create', resourceType: 'agent', resourceId: created.id })
    return created
  })
}

export async function listAgentsPage (deps: Pick<Deps, 'db'>, orgId: string, page: { limit: number, after?: string }): Promise<Agent[]> {
  return listAgents(deps.db, orgId, page)
}

export async function updateAgent (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, input: AgentInput, actor: Actor): Promise<Agent> {
  const updated = await deps.db.transaction(async (tx) => {
    const current = await requireAgent(tx, orgId, agentId)
    const fields = resolveAgent(input, current)
    await checkReferences(tx, current.id, input)
    const agent = await writeAgent(tx, orgId, current.id, fields)
    if (agent) {
      await refreshNextPulls(tx, agent)
      await recordAudit(tx, actor, { action: 'update', resourceType: 'agent', resourceId: agent.id, changes: diff(current, agent, AGENT_FIELDS) })
    }
    return agent
  })
  if (!updated) throw agentNotFound()
  return updated
}

/** Deletes the agent and everything under it. */
export async function deleteAgent (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, actor: Actor): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (!await removeAgent(tx, orgId, agentId)) throw agentNotFound()
    await recordAudit(tx, actor, { action: 'delete', resourceType: 'agent', resourceId: agentId })
  })
}

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

/** After an agent's cron, timezone or autoPull changed: every source's next pull moves with it. */
async function refreshNextPulls (q: Queryable, agent: Agent): Promise<void> {
  const now = new Date()
  for (const source of await listSourcesOfAgent(q, agent.id)) {
    await setNextPullAt(q, source.id, computeNextPullAt(source, agent, now))
  }
}
