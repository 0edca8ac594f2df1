import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../src/db/migrate.js'
import { MIGRATIONS } from '../../src/db/migrations/index.js'
import { finishSync, getSyncById } from '../../src/db/sql/syncs.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

// Migration 008 keeps closed syncs' manifest_json and moves running syncs' manifests into
// sync_manifest_entries: a database written by the previous version must show the same manifests,
// in the same order, with the same counters, and a sync running across the upgrade closes with them.

let database: TestDatabase
const ORG = '01a22500-0000-7000-8000-000000000001'
const AGENT = '01a22500-0000-7000-8000-000000000002'
const SOURCE = '01a22500-0000-7000-8000-000000000003'
const SINK = '01a22500-0000-7000-8000-000000000004'
const PULLED = '01a22500-0000-7000-8000-000000000010'
const PUSHED = '01a22500-0000-7000-8000-000000000011'
const RUNNING = '01a22500-0000-7000-8000-000000000012'
const EMPTY = '01a22500-0000-7000-8000-000000000013'

const pulledManifest = [
  {
    key: 'daily/b.csv', etag: '"b"', size: 120, lastModified: '2026-11-01T10:00:00.000Z', format: 'csv', status: 'ingested', rowsAccepted: 5, rowsRejected: 1,
    uploadId: '01a22500-0000-7000-8000-0000000000b1', errors: [{ row: 3, message: 'sku is missing' }],
  },
  {
    key: 'daily/a.csv', etag: '"a"', size: 80, lastModified: '2026-11-01T09:00:00.000Z', format: 'csv', status: 'ingested', rowsAccepted: 2, rowsRejected: 0,
    uploadId: '01a22500-0000-7000-8000-0000000000a1',
  },
  {
    key: 'daily/notes.pdf', etag: '"n"', size: 9, lastModified: null, format: null, status: 'skipped', rowsAccepted: 0, rowsRejected: 0,
    reason: 'unsupported file type ".pdf"',
  },
  {
    key: 'daily/bad.json', etag: '"x"', size: 14, lastModified: null, format: null, status: 'rejected', rowsAccepted: 0, rowsRejected: 0,
    reason: 'PARSE_FAILED: broken',
  },
]
const pushedManifest = [{
  key: 'https://example.test/hook', etag: null, size: 48, lastModified: null, format: 'json', status: 'delivered', rowsAccepted: 7, rowsRejected: 0,
  jobId: '01a22500-0000-7000-8000-0000000000c1', state: 'delivered', nextAttemptAt: null,
  attempts: [{ attempt: 1, outcome: 'retrying', status: 503 }, { attempt: 2, outcome: 'delivered', status: 200 }],
}]

beforeAll(async () => {
  database = await createTestDatabase()
  const { db } = database
  // the schema as the previous version left it: migrations 1–7 only
  await db.exec('CREATE TABLE ferry_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())')
  for (const m of MIGRATIONS.filter(m => m.id <= 7)) {
    await db.exec(m.sql)
    await db.query('INSERT INTO ferry_migrations (id, name) VALUES ($1, $2)', [m.id, m.name])
  }
  await db.query("INSERT INTO organisations (id, name) VALUES ($1, 'acme')", [ORG])
  await db.query("INSERT INTO agents (id, org_id, name, schedule_cron, timezone, rules, mapping) VALUES ($1, $2, 'a', '0 * * * *', 'UTC', '{}', '{}')",
    [AGENT, ORG])
  for (const [id, role, type] of [[SOURCE, 'INVENTORY_SOURCE', 's3'], [SINK, 'RESULTS_SINK', 'webhook']]) {
    await db.query("INSERT INTO data_sources (id, org_id, agent_id, name, role, type, config) VALUES ($1, $2, $3, $6, $4, $5, '{}')",
      [id, ORG, AGENT, role, type, `${type} ${role}`])
  }
  const insert = (id: string, source: string, direction: string, status: string, manifest: unknown[], counts: number[]) => db.query(
    `INSERT INTO syncs (id, org_id, source_id, direction, trigger, status, manifest_json, files_count, bytes, rows_accepted, rows_rejected)
     VALUES ($1, $2, $3, $4, 'manual', $5, $6::jsonb, $7, $8, $9, $10)`, [id, ORG, source, direction, status, JSON.stringify(manifest), ...counts])
  await insert(PULLED, SOURCE, 'inbound', 'partial', pulledManifest, [3, 214, 7, 1])
  await insert(PUSHED, SINK, 'outbound', 'succeeded', pushedManifest, [1, 48, 7, 0])
  await insert(RUNNING, SOURCE, 'inbound', 'running', pulledManifest.slice(0, 2), [2, 200, 7, 1])
  await insert(EMPTY, SOURCE, 'inbound', 'failed', [], [0, 0, 0, 0])
  // the migrations from 8 on, in order (later ones follow and are not this test's subject)
  expect((await migrate(db)).applied.slice(0, 2)).toEqual(['8_manifest_entries', '9_lean_items'])
})
afterAll(async () => { await database?.drop() })

describe('migration 008: running syncs\' manifests move to sync_manifest_entries', () => {
  it('shows the old manifests unchanged, in order, with their counters', async () => {
    const pulled = await getSyncById(database.db, PULLED)
    expect(pulled?.manifest).toEqual(pulledManifest)
    expect(pulled).toMatchObject({ filesCount: 3, bytes: 214, rowsAccepted: 7, rowsRejected: 1 })
    const pushed = await getSyncById(database.db, PUSHED)
    expect(pushed?.manifest).toEqual(pushedManifest)
    expect((await getSyncById(database.db, EMPTY))?.manifest).toEqual([])
    // closed syncs keep their manifest where it was; only the running one moved
    const { rows } = await database.db.query<{ id: string, stored: boolean }>('SELECT id, manifest_json IS NOT NULL AS stored FROM syncs ORDER BY id')
    expect(rows).toEqual([{ id: PULLED, stored: true }, { id: PUSHED, stored: true }, { id: RUNNING, stored: false }, { id: EMPTY, stored: true }])
  })

  it('gives a running sync\'s entries the shares the old writers counted, and closes it with the same counters', async () => {
    const shares = await database.db.query<{ sync_id: string, files: number, bytes: string | number, rows_accepted: number, rows_rejected: number }>(
      'SELECT sync_id, sum(files)::int AS files, sum(bytes)::int AS bytes, sum(rows_accepted)::int AS rows_accepted, ' +
        'sum(rows_rejected)::int AS rows_rejected FROM sync_manifest_entries GROUP BY sync_id ORDER BY sync_id')
    expect(shares.rows.map(r => [r.sync_id, r.files, Number(r.bytes), r.rows_accepted, r.rows_rejected])).toEqual([[RUNNING, 2, 200, 7, 1]])
    expect((await getSyncById(database.db, RUNNING))?.manifest).toEqual(pulledManifest.slice(0, 2))
    const finished = await finishSync(database.db, RUNNING, { status: 'succeeded' })
    expect(finished).toMatchObject({ status: 'succeeded', filesCount: 2, bytes: 200, rowsAccepted: 7, rowsRejected: 1 })
    expect(finished?.manifest).toEqual(pulledManifest.slice(0, 2))
    // closing folds the entries into manifest_json (docs/architecture.md, "A pull, end to end") and removes them
    const { rows } = await database.db.query<{ manifest_json: unknown }>('SELECT manifest_json FROM syncs WHERE id = $1', [RUNNING])
    expect(rows[0].manifest_json).toEqual(pulledManifest.slice(0, 2))
    expect((await database.db.query('SELECT 1 FROM sync_manifest_entries')).rows).toEqual([])
  })
})
