import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finishSync, insertSync } from '../../src/db/sql/syncs.js'
import { newId } from '../../src/util/ids.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
let otherKey: string

beforeAll(async () => {
  t = await createTestApp()
  otherKey = await t.newOrg('other')
})
afterAll(async () => { await t?.close() })

const sql = async (text: string, params: unknown[] = []) => (await t.database.db.query(text, params)).rows

const newAgent = async (name: string, key?: string) => {
  const { id } = (await t.api('POST', '/api/v1/agents', { body: { name }, key })).json() as { id: string }
  const [row] = await sql('SELECT org_id FROM agents WHERE id = $1', [id])
  return { id, orgId: row!.org_id as string }
}

// rows written straight to the tables: the summary is about what is stored, however it got there
const newSource = async (orgId: string, agentId: string) => {
  const id = newId()
  await sql(`INSERT INTO data_sources (id, org_id, agent_id, name, role, type, config) VALUES ($1, $2, $3, $4, 'INVENTORY_SOURCE', 'webhook', '{}')`,
    [id, orgId, agentId, `source ${id}`])
  return id
}
const sync = async (orgId: string, sourceId: string, status: 'succeeded' | 'partial' | 'failed' | 'running', startedAt: string) => {
  const id = newId()
  await insertSync(t.database.db, { id, orgId, sourceId, direction: 'inbound', trigger: 'manual' })
  if (status !== 'running') await finishSync(t.database.db, id, { status })
  await sql('UPDATE syncs SET started_at = $2 WHERE id = $1', [id, startedAt])
}
const pendingItem = async (orgId: string, agentId: string, sourceId: string, status: 'open' | 'resolved') => {
  const resolved = status === 'resolved'
  await sql(`INSERT INTO pending_items (id, org_id, agent_id, source_id, type, status, message, resolved_at, resolution)
    VALUES ($1, $2, $3, $4, 'DATA_SOURCE_PULL_FAILED', $5, 'x', $6, $7)`,
  [newId(), orgId, agentId, sourceId, status, resolved ? new Date() : null, resolved ? 'manual' : null])
}

const listed = async (key?: string) =>
  Object.fromEntries(((await t.api('GET', '/api/v1/agents', { key })).json().items as Array<{ name: string, health: unknown }>).map(a => [a.name, a.health]))

describe('agents list health summary', () => {
  it('shows per agent its sources, the worst latest sync, the last sync time and open pending items, counting its own organisation only', async () => {
    const sick = await newAgent('sick')
    await newAgent('idle')
    const quiet = await newAgent('quiet')
    // the latest sync of `failing` failed (an older success does not count); `fine` succeeded later
    const failing = await newSource(sick.orgId, sick.id)
    const fine = await newSource(sick.orgId, sick.id)
    await sync(sick.orgId, failing, 'succeeded', '2026-01-01T00:00:00.000Z')
    await sync(sick.orgId, failing, 'failed', '2026-01-02T00:00:00.000Z')
    await sync(sick.orgId, fine, 'succeeded', '2026-01-03T00:00:00.000Z')
    await pendingItem(sick.orgId, sick.id, failing, 'open')
    await pendingItem(sick.orgId, sick.id, fine, 'resolved')
    // a source that never synced
    await newSource(quiet.orgId, quiet.id)

    // another organisation's rows, even ones pointing at this organisation's agent, are never counted
    const other = await newAgent('elsewhere', otherKey)
    const foreign = await newSource(other.orgId, sick.id)
    await sync(other.orgId, foreign, 'partial', '2026-02-01T00:00:00.000Z')
    await pendingItem(other.orgId, sick.id, foreign, 'open')
    const othersOwn = await newSource(other.orgId, other.id)
    await sync(other.orgId, othersOwn, 'running', '2026-03-01T00:00:00.000Z')

    const mine = await listed()
    expect(mine.sick).toEqual({ sources: 2, lastSyncAt: '2026-01-03T00:00:00.000Z', lastSyncStatus: 'failed', failingSources: 1, openPendingItems: 1 })
    expect(mine.idle).toEqual({ sources: 0, lastSyncAt: null, lastSyncStatus: null, failingSources: 0, openPendingItems: 0 })
    expect(mine.quiet).toEqual({ sources: 1, lastSyncAt: null, lastSyncStatus: null, failingSources: 0, openPendingItems: 0 })
    expect(mine).not.toHaveProperty('elsewhere')

    expect((await listed(otherKey)).elsewhere).toEqual({
      sources: 1, lastSyncAt: '2026-03-01T00:00:00.000Z', lastSyncStatus: 'running', failingSources: 0, openPendingItems: 0,
    })
  })

  it('ranks partial above a success among the latest syncs, and a single agent read carries no summary', async () => {
    const mixed = await newAgent('mixed')
    const a = await newSource(mixed.orgId, mixed.id)
    const b = await newSource(mixed.orgId, mixed.id)
    await sync(mixed.orgId, a, 'partial', '2026-01-01T00:00:00.000Z')
    await sync(mixed.orgId, b, 'succeeded', '2026-01-05T00:00:00.000Z')
    expect((await listed()).mixed).toMatchObject({ sources: 2, lastSyncStatus: 'partial', lastSyncAt: '2026-01-05T00:00:00.000Z', failingSources: 0 })
    expect((await t.api('GET', `/api/v1/agents/${mixed.id}`)).json()).not.toHaveProperty('health')
  })
})
