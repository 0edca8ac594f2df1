import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../src/db/migrate.js'
import { MIGRATIONS } from '../../src/db/migrations/index.js'
import { getSyncById } from '../../src/db/sql/syncs.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

// issue #14 case 4: push attempts stored by an earlier version carry the receiver's body
// (`bodyExcerpt`); after the upgrade none of it is served, and nothing else of the manifest changes.

let database: TestDatabase
const ORG = '01a22500-0000-7000-8000-000000000001'
const AGENT = '01a22500-0000-7000-8000-000000000002'
const SINK = '01a22500-0000-7000-8000-000000000004'
const CLOSED = '01a22500-0000-7000-8000-000000000011'
const RUNNING = '01a22500-0000-7000-8000-000000000012'

const entry = (excerpt: string) => ({
  key: 'https://example.test/hook', etag: null, size: 48, lastModified: null, format: 'json', status: 'delivered', rowsAccepted: 7, rowsRejected: 0,
  state: 'delivered', nextAttemptAt: null,
  attempts: [
    { attempt: 1, outcome: 'retrying', status: 503, bodyExcerpt: `${excerpt} internal stack trace` },
    { attempt: 2, outcome: 'delivered', status: 200, bodyExcerpt: `${excerpt} ok` },
    { attempt: 3, outcome: 'unknown', status: null },
  ],
})
const withoutExcerpts = (e: ReturnType<typeof entry>) => ({ ...e, attempts: e.attempts.map(({ bodyExcerpt, ...a }) => a) })

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  await db.exec('CREATE TABLE ferry_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
  for (const m of MIGRATIONS.filter(m => m.id <= 9)) {
    await db.exec(m.sql)
    await db.query('INSERT INTO ferry_migrations (id, name) VALUES ($1, $2)', [m.id, m.name])
  }
  await db.query(`INSERT INTO organisations (id, name) VALUES ($1, 'acme')`, [ORG])
  await db.query(`INSERT INTO agents (id, org_id, name, schedule_cron, timezone, rules, mapping)
    VALUES ($1, $2, 'a', '0 * * * *', 'UTC', '{}', '{}')`, [AGENT, ORG])
  await db.query(`INSERT INTO data_sources (id, org_id, agent_id, name, role, type, config)
    VALUES ($1, $2, $3, 'sink', 'RESULTS_SINK', 'webhook', '{}')`, [SINK, ORG, AGENT])
  await db.query(`INSERT INTO syncs (id, org_id, source_id, direction, trigger, status, manifest_json,
    files_count, bytes, rows_accepted, rows_rejected)
    VALUES ($1, $2, $3, 'outbound', 'manual', 'succeeded', $4::jsonb, 1, 48, 7, 0)`, [CLOSED, ORG, SINK, JSON.stringify([entry('closed-canary')])])
  await db.query(`INSERT INTO syncs (id, org_id, source_id, direction, trigger, status)
    VALUES ($1, $2, $3, 'outbound', 'manual', 'running')`, [RUNNING, ORG, SINK])
  await db.query(`INSERT INTO sync_manifest_entries (sync_id, entry, files, bytes, rows_accepted, rows_rejected) VALUES ($1, $2::jsonb, 1, 48, 7, 0)`,
    [RUNNING, JSON.stringify(entry('running-canary'))])
  expect((await migrate(db)).applied).toContain('11_no_response_bodies')
})
afterAll(async () => { await database?.drop() })

describe('migration 010: stored response excerpts are removed', () => {
  it('keeps every attempt and field except bodyExcerpt, in closed and running syncs', async () => {
    const closed = await getSyncById(database.db, CLOSED)
    expect(closed?.manifest).toEqual([withoutExcerpts(entry('closed-canary'))])
    const running = await getSyncById(database.db, RUNNING)
    expect(running?.manifest).toEqual([withoutExcerpts(entry('running-canary'))])
    const { rows } = await database.db.query(`SELECT count(*)::int AS n FROM syncs WHERE manifest_json::text LIKE '%canary%'
      UNION ALL SELECT count(*)::int FROM sync_manifest_entries WHERE entry::text LIKE '%canary%'`)
    expect(rows.map(r => r.n)).toEqual([0, 0])
  })
})
