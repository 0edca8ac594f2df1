import type { Queryable } from '../client.js'

/** Pushes waiting for their next attempt (the open-deliveries index covers the state). */
export async function countRetryingPushes (q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: string }>("SELECT count(*) AS n FROM push_deliveries WHERE state = 'retrying'")
  return Number(rows[0].n)
}

/** The schedules (cron, timezone) sources are pulled on; a handful, however many sources there are. */
export async function scheduledPatterns (q: Queryable): Promise<Array<{ cron: string, timezone: string }>> {
  const { rows } = await q.query<{ cron: string, timezone: string }>(
    `SELECT DISTINCT coalesce(ds.schedule_cron, a.schedule_cron) AS cron, a.timezone
     FROM data_sources ds JOIN agents a ON a.id = ds.agent_id WHERE ds.next_pull_at IS NOT NULL`)
  return rows
}

/**
 * Scheduled sources whose last successful listing (or creation, if never) is older than the time
 * given for their schedule.
 */
export async function countStaleSources (q: Queryable, since: Array<{ cron: string, timezone: string, since: string }>): Promise<number> {
  if (since.length === 0) return 0
  const { rows } = await q.query<{ n: string }>(
    `SELECT count(*) AS n FROM data_sources ds JOIN agents a ON a.id = ds.agent_id
     JOIN jsonb_to_recordset($1::jsonb) AS t(cron text, timezone text, since timestamptz)
       ON t.cron = coalesce(ds.schedule_cron, a.schedule_cron) AND t.timezone = a.timezone
     WHERE ds.next_pull_at IS NOT NULL AND coalesce(ds.last_synced_at, ds.created_at) < t.since`, [JSON.stringify(since)])
  return Number(rows[0].n)
}
