import type { Queryable } from '../db/client.js'
import { getSource } from '../db/sql/sources.js'
import type { DataSource } from '../domain/source.js'
import { AppError } from '../errors.js'

/** The one answer for a source that does not exist or belongs to another organisation. */
export const sourceNotFound = (): AppError => new AppError('NOT_FOUND', 'Data source not found.')

/** A source of the organisation's agent, or NOT_FOUND (another organisation's id answers the same). */
export async function requireSource (q: Queryable, orgId: string, agentId: string, sourceId: string): Promise<DataSource> {
  const source = await getSource(q, orgId, agentId, sourceId)
  if (!source) throw sourceNotFound()
  return source
}
