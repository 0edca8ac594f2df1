import type { Queryable } from '../client.js'
import { iso, isoRequired, json } from './rows.js'
import { SHOWN_STATUS, type ShownSyncStatus } from './syncs.js'
import type { AgentRules, AgentMapping } from '../../domain/agent.js'

export interface Agent {
  id: string
  orgId: string
  name: string
  scheduleCron: string
  timezone: string
  rules: AgentRules
  mapping: AgentMapping
  createdAt: string
  updatedAt: string
}

export const toAgent = (r: Record<string, unknown>): Agent => ({
  id: r.id as string,
  orgId: r.org_id as string,
  name: r.name as string,
  scheduleCron: r.schedule_cron as string,
  timezone: r.timezone as string,
  rules: r.rules as AgentRules,
  mapping: r.mapping as AgentMapping,
  createdAt: isoRequired(r.created_at),
  updatedAt: isoRequired(r.updated_at),
})

export type AgentFields = Pick<Agent, 'name' | 'scheduleCron' | 'timezone' | 'rules' | 'mapping'>

export async function insertAgent (q: Queryable, orgId: string, id: string, a: AgentFields): Promise<Agent> {
  const { rows } = await q.query(
    `INSERT INTO agents (id, org_id, name, schedule_cron, timezone, rules, mapping)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb) RETURNING *`,
    [id, orgId, a.name, a.scheduleCron, a.timezone, json(a.rules), json(a.mapping)])
  return toAgent(rows[0])
}

export async function getAgent (q: Queryable, orgId: string, id: string): Promise<Agent | null> {
  const { rows } = await q.query('SELECT * FROM agents WHERE org_id = $1 AND id = $2', [orgId, id])
  return rows[0] ? toAgent(rows[0]) : null
}

export interface AgentHealth {
  sources: number
  lastSyncAt: string | null
  /** the worst of the sources' latest syncs; null when none of them has synced yet */
  lastSyncStatus: ShownSyncStatus | null
  failingSources: number
  openPendingItems: number
}

/** Worst first: the list shows the one status that most needs a look (docs/decisions.md). */
const STATUS_RANK = `CASE l.status WHEN 'failed' THEN 0 WHEN 'partial' THEN 1 WHEN 'retrying' THEN 2 WHEN 'running' THEN 3
  WHEN 'cancelled' THEN 4 ELSE 5 END`

/**
 * Keyset pagination on the (time-ordered) id, oldest first, each agent with its health summary in
 * the same statement (the list never asks once per agent): the latest sync of each of its sources,
 * and its open pending items. Every joined table is filtered on the org as well.
 */
export async function listAgents (q: Queryable, orgId: string, page: { limit: number, after?: string }): Promise<Array<Agent & { health: AgentHealth }>> {
  const { rows } = await q.query(
    `SELECT a.*, h.sources, h.last_sync_at, h.last_sync_status, h.failing_sources,
       (SELECT count(*)::int FROM pending_items p WHERE p.org_id = a.org_id AND p.agent_id = a.id AND p.status = 'open') AS open_pending_items
     FROM agents a
     CROSS JOIN LATERAL (
       SELECT count(*)::int AS sources, max(l.started_at) AS last_sync_at,
         (array_agg(l.status ORDER BY ${STATUS_RANK}) FILTER (WHERE l.status IS NOT NULL))[1] AS last_sync_status,
         (count(*) FILTER (WHERE l.status = 'failed'))::int AS failing_sources
       FROM data_sources ds
       LEFT JOIN LATERAL (
         SELECT ${SHOWN_STATUS} AS status, s.started_at FROM syncs s LEFT JOIN push_deliveries d ON d.sync_id = s.id
         WHERE s.org_id = ds.org_id AND s.source_id = ds.id ORDER BY s.id DESC LIMIT 1
       ) l ON true
       WHERE ds.org_id = a.org_id AND ds.agent_id = a.id
     ) h
     WHERE a.org_id = $1 AND ($2::uuid IS NULL OR a.id > $2::uuid) ORDER BY a.id LIMIT $3`,
    [orgId, page.after ?? null, page.limit])
  return rows.map(r => ({
    ...toAgent(r),
    health: {
      sources: r.sources as number,
      lastSyncAt: iso(r.last_sync_at),
      lastSyncStatus: (r.last_sync_status as ShownSyncStatus | null) ?? null,
      failingSources: r.failing_sources as number,
      openPendingItems: r.open_pending_items as number,
    },
  }))
}

export async function updateAgent (q: Queryable, orgId: string, id: string, a: AgentFields): Promise<Agent | null> {
  const { rows } = await q.query(
    `UPDATE agents SET name = $3, schedule_cron = $4, timezone = $5, rules = $6::jsonb, mapping = $7::jsonb, updated_at = now()
     WHERE org_id = $1 AND id = $2 RETURNING *`,
    [orgId, id, a.name, a.scheduleCron, a.timezone, json(a.rules), json(a.mapping)])
  return rows[0] ? toAgent(rows[0]) : null
}

export async function deleteAgent (q: Queryable, orgId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM agents WHERE org_id = $1 AND id = $2', [orgId, id])
  return rowCount > 0
}
