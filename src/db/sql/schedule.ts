import type { Queryable } from '../client.js'
import { json } from './rows.js'

/** A source whose next_pull_at has come, with what deciding its next run needs. */
export interface DueSource {
  id: string
  orgId: string
  /** the schedule it follows: its own cron, or its agent's */
  cron: string
  timezone: string
  /** still pulled on a schedule: enabled inventory source of a pulled kind, of an agent with rules.autoPull */
  eligible: boolean
}

/**
 * Claims up to `limit` due sources, oldest due first, row-locked until the caller's transaction
 * ends. SKIP LOCKED: schedulers of other processes skip the rows this one holds and take the next
 * ones, so two workers split a large tick between them and no source is taken twice.
 * Also answers the database's clock, which the caller computes next runs from. `pulledTypes`: the
 * kinds Ferry pulls (src/kinds/registry.ts PULLED_TYPES), so the SQL names no kind.
 */
export async function claimDueSources (q: Queryable, limit: number, pulledTypes: readonly string[]): Promise<{ now: Date, sources: DueSource[] }> {
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT s.id, s.org_id, coalesce(s.schedule_cron, a.schedule_cron) AS cron, a.timezone,
       (s.enabled AND s.role = 'INVENTORY_SOURCE' AND s.type = ANY($2::text[]) AND coalesce((a.rules->>'autoPull')::boolean, true)) AS eligible,
       statement_timestamp() AS db_now
     FROM data_sources s JOIN agents a ON a.id = s.agent_id
     WHERE s.next_pull_at <= statement_timestamp() AND s.enabled AND s.next_pull_at IS NOT NULL
     ORDER BY s.next_pull_at
     LIMIT $1
     FOR UPDATE OF s SKIP LOCKED`, [limit, [...pulledTypes]])
  const now = rows[0] ? new Date(rows[0].db_now as string | Date) : new Date()
  return {
    now,
    sources: rows.map(r => ({
      id: r.id as string, orgId: r.org_id as string, cron: r.cron as string, timezone: r.timezone as string, eligible: r.eligible === true,
    })),
  }
}

/** Sets next_pull_at of many sources in one statement. */
export async function setNextPulls (q: Queryable, next: Array<{ id: string, at: Date | null }>): Promise<void> {
  if (next.length === 0) return
  await q.query(
    `UPDATE data_sources s SET next_pull_at = x.at
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, at timestamptz) WHERE s.id = x.id`,
    [json(next.map(n => ({ id: n.id, at: n.at?.toISOString() ?? null })))])
}

export async function orgOfSource (q: Queryable, sourceId: string): Promise<string | null> {
  const { rows } = await q.query<{ org_id: string }>('SELECT org_id FROM data_sources WHERE id = $1', [sourceId])
  return rows[0]?.org_id ?? null
}

/**
 * Whether a pull of another organisation is waiting to run (queued, due). Reads pg-boss's job
 * table (schema `bossSchema`, partitioned by queue name): the one place Ferry looks inside it.
 */
export async function otherOrgsPullsWaiting (q: Queryable, bossSchema: string, queue: string, orgId: string): Promise<boolean> {
  const { rows } = await q.query<{ waiting: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM ${bossSchema}.job j JOIN data_sources s ON s.id = (j.data->>'sourceId')::uuid
       WHERE j.name = $1 AND j.state < 'active' AND j.start_after <= now() AND s.org_id <> $2
     ) AS waiting`, [queue, orgId])
  return rows[0]?.waiting === true
}
