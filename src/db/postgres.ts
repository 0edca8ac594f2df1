import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { Db, Queryable, QueryOptions, QueryResult, Transaction } from './client.js'

// Same representation as the PGlite adapter: int8 and numeric as JS numbers.
const typeParsers = {
  getTypeParser (oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v)
    return pg.types.getTypeParser(oid, format as 'text')
  },
}

type Client = pg.Pool | pg.PoolClient

function queryable (client: Client): Queryable {
  return {
    kind: 'postgres',
    async query<T> (text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<T>> {
      const res = await client.query({ name: options?.prepare, text, values: params as unknown[] | undefined, types: typeParsers })
      return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 }
    },
  }
}

function bossAdapter (client: Client) {
  return () => ({
    async executeSql (text: string, values?: unknown[]) {
      const res = await client.query(text, values)
      // a multi-statement script answers an array of results; pg-boss 12 wants the rows of every
      // statement (a lock's row comes before a claim's RETURNING, and COMMIT's none last)
      return { rows: Array.isArray(res) ? res.flatMap(r => r.rows ?? []) : res.rows }
    },
  })
}

export async function openPostgres (connectionString: string): Promise<Db> {
  const pool = new pg.Pool({ connectionString, max: 10, application_name: 'ferry' })
  // An idle client that loses its connection (server restart) must not crash the process;
  // the pool drops it and the next query opens a new one.
  pool.on('error', () => {})
  // …and so must a client the server drops while the pool is ending it (a restart or a forced DROP
  // DATABASE during shutdown: found by the chaos suite); a query in flight still fails on its own
  pool.on('connect', (client) => { client.on('error', () => {}) })
  await pool.query('SELECT 1')
  return {
    ...queryable(pool),
    async exec (sql: string) { await pool.query(sql) },
    bossAdapter: bossAdapter(pool),
    async transaction<T> (fn: (tx: Transaction) => Promise<T>): Promise<T> {
      const client = await pool.connect()
      let broken: Error | undefined
      // A checked-out client reports a lost connection (server restart, network) as an 'error'
      // event; without a listener that event crashes the process (found by the chaos suite: a
      // PostgreSQL restart during a COPY). The query that notices fails the transaction, and the
      // client is handed back as broken so the pool drops it.
      const onError = (err: Error) => { broken ??= err }
      client.on('error', onError)
      try {
        await client.query('BEGIN')
        const tx: Transaction = {
          ...queryable(client),
          async exec (sql: string) { await client.query(sql) },
          bossAdapter: bossAdapter(client),
          copyFrom: (copySql: string) => client.query(copyFrom(copySql)),
        }
        const result = await fn(tx)
        await client.query('COMMIT')
        return result
      } catch (err) {
        // a failed ROLLBACK means the connection is gone: hand it back as broken so the pool drops it
        await client.query('ROLLBACK').catch((rollbackErr: Error) => { broken = rollbackErr })
        throw err
      } finally {
        client.removeListener('error', onError)
        client.release(broken)
      }
    },
    async close () { await pool.end() },
  }
}
