import type { Queryable } from './client.js'
import { getAgent, type Agent } from './sql/agents.js'
import { getSource } from './sql/sources.js'
import type { DataSource } from '../domain/source.js'
import { AppError } from '../errors.js'

/**
 * The organisation-scoped lookups every nested route starts with. Another organisation's id and a
 * missing one answer the same 404.
 */
export async function agentOr404 (q: Queryable, orgId: string, agentId: string): Promise<Agent> {
  const agent = await getAgent(q, orgId, agentId)
  if (!agent) throw new AppError('NOT_FOUND', 'Agent not found.')
  return agent
}

/** The one answer for a source that does not exist or belongs to another organisation. */
export const sourceNotFound = (): AppError => new AppError('NOT_FOUND', 'Data source not found.')

export async function sourceOr404 (q: Queryable, orgId: string, agentId: string, sourceId: string): Promise<DataSource> {
  const source = await getSource(q, orgId, agentId, sourceId)
  if (!source) throw sourceNotFound()
  return source
}
