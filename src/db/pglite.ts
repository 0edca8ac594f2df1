import { PGlite, types, type Transaction as PgliteTx } from '@electric-sql/pglite'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Db, QueryResult, Transaction } from './client.js'

// int8 and numeric come back as numbers on both backends (see postgres.ts): counts and prices
// never exceed 2^53 here, and one representation keeps the data layer free of per-backend code.
const parsers = {
  [types.INT8]: (v: string) => Number(v),
  [types.NUMERIC]: (v: string) => Number(v),
}

function adapter (
  q: PGlite | PgliteTx, options: { ownsConnection: boolean },
): Transaction {
  const query = async <T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> => {
    const res = await q.query<T>(text, params as unknown[] | undefined)
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length }
  }
  return {
    kind: 'pglite',
    query,
    async exec (sql: string) { await q.exec(sql) },
    bossAdapter: () => ({
      // PGlite's query() takes exactly one statement; pg-boss sends multi-statement scripts
      // (BEGIN; … COMMIT;) without parameters, and those must go through exec().
      async executeSql (text: string, values?: unknown[]) {
        try {
          if (!values || values.length === 0) {
            // pg-boss 12 wants the rows of every statement of a script, not only the last one's
            const results = await q.exec(text)
            return { rows: results.flatMap(r => r.rows ?? []) }
          }
          const res = await q.query(text, values)
          return { rows: res.rows }
        } catch (err) {
          // PGlite is one connection: a script that failed between its BEGIN and COMMIT would leave it
          // in an aborted transaction for every later statement (a pooled server drops that session).
          // Inside one of our transactions, the transaction's own rollback does this.
          if (options.ownsConnection) await q.query('ROLLBACK').catch(() => {})
          throw err
        }
      },
    }),
  }
}

export async function openPglite (dataDir?: string): Promise<Db> {
  let dir: string | undefined
  if (dataDir) {
    dir = path.join(dataDir, 'pglite')
    await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  }
  const pg = await PGlite.create(dir, { parsers })
  const base = adapter(pg, { ownsConnection: true })
  return {
    ...base,
    async transaction<T> (fn: (tx: Transaction) => Promise<T>): Promise<T> {
      // PGlite is one connection: a transaction holds it, so other queries wait until it ends.
      return pg.transaction(async (tx) => fn(adapter(tx, { ownsConnection: false })))
    },
    async close () {
      if (!pg.closed) await pg.close()
    },
  }
}
