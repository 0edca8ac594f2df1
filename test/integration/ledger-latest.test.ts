import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { insertAgent } from '../../src/db/sql/agents.js'
import { insertOrg } from '../../src/db/sql/orgs.js'
import { insertLedgerEntry, insertSource, latestLedgerEntry } from '../../src/db/sql/sources.js'
import { insertSync } from '../../src/db/sql/syncs.js'
import { migrate } from '../../src/db/migrate.js'
import { newId } from '../../src/util/ids.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

describe('latestLedgerEntry: the validator an HTTPS source sends back', () => {
  let t: TestDatabase
  const orgId = newId()
  const agentId = newId()
  const sourceId = newId()
  const url = 'https://supplier.example/feed.csv'

  beforeAll(async () => {
    t = await createTestDatabase()
    await migrate(t.db)
    await insertOrg(t.db, { id: orgId, name: 'org' })
    await insertAgent(t.db, orgId, agentId, { name: 'agent', scheduleCron: '0 * * * *', timezone: 'UTC', rules: {} as never, mapping: {} as never })
    await insertSource(t.db, {
      id: sourceId, orgId, agentId, role: 'INVENTORY_SOURCE', type: 's3', name: 'feed', config: {} as never, scheduleCron: null,
      enabled: true, autoPush: false, validatedAt: null, validationSkipped: true, nextPullAt: null,
    })
  })
  afterAll(() => t?.drop())

  it('is null before the first pull, then the newest row of the key', async () => {
    expect(await latestLedgerEntry(t.db, sourceId, url)).toBeNull()
    const syncId = (await insertSync(t.db, { id: newId(), orgId, sourceId, direction: 'inbound', trigger: 'manual' })).id
    const lastModified = new Date('2026-11-01T10:00:00Z')
    await insertLedgerEntry(t.db, { sourceId, key: url, etag: '"v1"', size: 10, lastModified, status: 'ingested', syncId })
    expect(await latestLedgerEntry(t.db, sourceId, url)).toEqual({ etag: '"v1"', lastModified })
    await t.db.query("UPDATE source_files SET recorded_at = now() - interval '1 hour'")
    await insertLedgerEntry(t.db, { sourceId, key: url, etag: 'sha256:ab', size: 10, lastModified: null, status: 'ingested', syncId })
    await insertLedgerEntry(t.db, { sourceId, key: 'https://supplier.example/other.csv', etag: '"x"', size: 1, lastModified: null, status: 'ingested', syncId })
    expect(await latestLedgerEntry(t.db, sourceId, url)).toEqual({ etag: 'sha256:ab', lastModified: null })
  })
})
