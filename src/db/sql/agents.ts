import type { Queryable } from '../client.js'
import { isoRequired, json } from './rows.js'
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

/** Keyset pagination on the (time-ordered) id, oldest first. */
export async function listAgents (q: Queryable, orgId: string, page: { limit: number, after?: string }): Promise<Agent[]> {
  const { rows } = await q.query(
    `SELECT * FROM agents WHERE org_id = $1 AND ($2::uuid IS NULL OR id > $2::uuid) ORDER BY id LIMIT $3`,
    [orgId, page.after ?? null, page.limit])
  return rows.map(toAgent)
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
