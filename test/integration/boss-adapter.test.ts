import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

// pg-boss runs every statement through Db.bossAdapter() (src/db/pglite.ts, src/db/postgres.ts)
describe('the pg-boss adapter', () => {
  let database: TestDatabase
  beforeAll(async () => { database = await createTestDatabase() })
  afterAll(async () => { await database?.drop() })

  it('answers the rows of every statement of a script, in order (pg-boss 12 looks for a lock row before COMMIT)', async () => {
    const { rows } = await database.db.bossAdapter().executeSql('BEGIN; SELECT 1 AS lock; SELECT 2 AS claimed; COMMIT')
    expect(rows).toEqual([{ lock: 1 }, { claimed: 2 }])
  })

  it('leaves the connection usable after a script fails between BEGIN and COMMIT', async () => {
    await expect(database.db.bossAdapter().executeSql('BEGIN; SELECT 1/0; COMMIT')).rejects.toThrow(/division by zero/)
    expect((await database.db.query('SELECT 41 + 1 AS answer')).rows).toEqual([{ answer: 42 }])
  })
})
