/**
 * The database seam: one small interface with two adapters, embedded PGlite and a pg Pool.
 * Everything above it speaks the PostgreSQL dialect through these four calls; SQL itself lives
 * only in src/db/sql/*.
 */
export interface QueryResult<T> {
  rows: T[]
  rowCount: number
}

export interface Queryable {
  readonly kind: DbKind
  /** One statement with $1… parameters. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>
}

export type DbKind = 'pglite' | 'postgres'

export interface Db extends Queryable {
  /** Several statements, no parameters (migrations, pg-boss maintenance commands). */
  exec(sql: string): Promise<void>
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>
  /** Adapter for pg-boss's `db` option (it runs every statement through this). */
  bossAdapter(): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }
  close(): Promise<void>
}

export interface Transaction extends Queryable {
  exec(sql: string): Promise<void>
  /** pg-boss `db` option bound to this transaction: a job sent through it commits with the transaction. */
  bossAdapter(): { executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }
  /**
   * Bulk-loads rows with COPY on PostgreSQL; on PGlite the caller falls back to batched INSERTs.
   * Undefined when the backend has no COPY stream.
   */
  copyFrom?: (copySql: string) => NodeJS.WritableStream & { on(event: 'finish' | 'error', cb: (err?: Error) => void): unknown }
}

export async function openDb (options: { databaseUrl?: string, dataDir?: string, memory?: boolean }): Promise<Db> {
  if (options.databaseUrl) {
    const { openPostgres } = await import('./postgres.js')
    return openPostgres(options.databaseUrl)
  }
  const { openPglite } = await import('./pglite.js')
  return openPglite(options.memory ? undefined : options.dataDir)
}
