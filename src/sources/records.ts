import type { Deps } from '../deps.js'
import type { Agent } from '../db/sql/agents.js'
import { deleteSource as removeSource, getSourceById, listSources, redactedSecretsByIds } from '../db/sql/sources.js'
import { lastSyncsOf } from '../db/sql/syncs.js'
import type { DataSource } from '../domain/source.js'
import { requireAgent } from '../agents/service.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import { requireSource, sourceNotFound } from './lookup.js'

/** Reading and deleting an organisation's sources for the API (creating and changing them: ./service.ts). */

/** An agent's sources and sinks. */
export async function listSourcesOf (deps: Pick<Deps, 'db'>, orgId: string, agentId: string): Promise<{ agent: Agent, sources: DataSource[] }> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  return { agent, sources: await listSources(deps.db, orgId, agent.id) }
}

/** One source of the organisation's agent, with its agent. */
export async function getSourceOf (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, sourceId: string): Promise<{ agent: Agent, source: DataSource }> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  return { agent, source: await requireSource(deps.db, orgId, agent.id, sourceId) }
}

/** One source by its id alone (for clients that know only that), with its agent; another organisation's → NOT_FOUND. */
export async function findSourceById (deps: Pick<Deps, 'db'>, orgId: string, sourceId: string): Promise<{ agent: Agent, source: DataSource }> {
  const source = await getSourceById(deps.db, sourceId)
  if (!source || source.orgId !== orgId) throw sourceNotFound()
  return { agent: await requireAgent(deps.db, orgId, source.agentId), source }
}

/** What the API shows with each source besides its row: its last sync and its secrets' redacted forms. */
export async function sourceExtras (deps: Pick<Deps, 'db'>, sources: DataSource[]) {
  const lastSyncs = await lastSyncsOf(deps.db, sources.map(s => s.id))
  const secrets = await redactedSecretsByIds(deps.db, sources[0]?.orgId ?? '', sources.flatMap(s => [
    (s.config as { secretRef?: string }).secretRef, (s.config as { headerSecretRef?: string }).headerSecretRef,
  ]).filter((id): id is string => Boolean(id)))
  return { lastSyncs, secrets }
}

/** Deletes a source or sink with its sync history and file ledger. */
export async function deleteSource (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, sourceId: string, actor: Actor): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (!await removeSource(tx, orgId, agentId, sourceId)) throw sourceNotFound()
    await recordAudit(tx, actor, { action: 'delete', resourceType: 'data_source', resourceId: sourceId })
  })
}
