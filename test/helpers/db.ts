import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openDb } from '../../src/db/open.js'
import type { Db } from '../../src/db/client.js'

/** The local PostgreSQL server the suite runs against (trust auth). */
export const POSTGRES_URL = process.env.FERRY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export type TestBackend = 'pglite' | 'postgres'
export const backend = (): TestBackend => (process.env.FERRY_TEST_DB === 'postgres' ? 'postgres' : 'pglite')

export interface TestDatabase {
  db: Db
  /** set on PostgreSQL: a URL of this test's own database (for child processes) */
  url?: string
  drop(): Promise<void>
}

/**
 * A fresh, empty database per call: an in-memory PGlite, or a new database on the PostgreSQL server
 * (dropped afterwards), so test files never see each other's rows or pg-boss jobs.
 */
export async function createTestDatabase (): Promise<TestDatabase> {
  if (backend() === 'pglite') {
    const db = await openDb({ memory: true })
    return { db, drop: () => db.close() }
  }
  const { url, drop } = await createPostgresDatabase()
  const db = await openDb({ databaseUrl: url })
  return { db, url, drop: async () => { await db.close(); await drop() } }
}

export async function createPostgresDatabase (): Promise<{ url: string, drop(): Promise<void> }> {
  const name = `ferry_t_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop () {
      const c = new pg.Client({ connectionString: POSTGRES_URL })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}
