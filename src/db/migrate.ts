import type { Db } from './client.js'
import { MIGRATIONS } from './migrations/index.js'

// Arbitrary constant: every Ferry process takes this advisory lock before migrating, so two
// processes starting at once against one PostgreSQL apply each migration exactly once.
const MIGRATION_LOCK = 7_246_001

export async function migrate (db: Db): Promise<{ applied: string[] }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await tx.exec(`CREATE TABLE IF NOT EXISTS ferry_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await tx.query<{ id: number }>('SELECT id FROM ferry_migrations')
    const done = new Set(rows.map(r => r.id))
    const applied: string[] = []
    for (const m of MIGRATIONS) {
      if (done.has(m.id)) continue
      await tx.exec(m.sql)
      await tx.query('INSERT INTO ferry_migrations (id, name) VALUES ($1, $2)', [m.id, m.name])
      applied.push(`${m.id}_${m.name}`)
    }
    return { applied }
  })
}

/** True when every known migration has been applied (readiness). */
export async function migrationsCurrent (db: Db): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*) AS n FROM ferry_migrations WHERE id = ANY($1::int[])`, [MIGRATIONS.map(m => m.id)])
  return rows[0]?.n === MIGRATIONS.length
}
