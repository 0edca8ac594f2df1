import type { Queryable, Transaction } from '../client.js'

/** The version of pg-boss's schema in `schema`, or null where pg-boss has not installed one. */
export async function queueSchemaVersion (q: Queryable, schema: string): Promise<number | null> {
  const { rows } = await q.query('SELECT to_regclass($1) IS NOT NULL AS present', [`${schema}.version`])
  if (!rows[0].present) return null
  const version = await q.query(`SELECT version FROM ${schema}.version`)
  return version.rows.length ? Number(version.rows[0].version) : null
}

/** Serialises the queue-schema upgrade between processes that start together on one PostgreSQL. */
export async function lockQueueUpgrade (tx: Transaction): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('ferry:queue-schema-upgrade'))")
}

export async function renameSchema (tx: Transaction, from: string, to: string): Promise<void> {
  await tx.exec(`ALTER SCHEMA ${from} RENAME TO ${to}`)
}

export async function schemaExists (q: Queryable, schema: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
  return rows.length > 0
}

export interface LegacyJob { name: string, data: object | null, priority: number, singletonKey: string | null, startAfter: Date }

/** The jobs of a pg-boss 10 schema that had not finished: waiting, waiting for a retry, or taken by a worker. */
export async function unfinishedLegacyJobs (q: Queryable, schema: string): Promise<LegacyJob[]> {
  const { rows } = await q.query(`SELECT name, data, priority, singleton_key, start_after FROM ${schema}.job
    WHERE state::text IN ('created', 'retry', 'active') ORDER BY created_on`)
  return rows.map(r => ({
    name: r.name as string,
    data: r.data as object | null,
    priority: Number(r.priority),
    singletonKey: r.singleton_key as string | null,
    startAfter: new Date(r.start_after as string),
  }))
}

export async function dropSchema (tx: Transaction, schema: string): Promise<void> {
  await tx.exec(`DROP SCHEMA ${schema} CASCADE`)
}
