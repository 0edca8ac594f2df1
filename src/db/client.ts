/**
 * The database seam: one small interface with two adapters, embedded PGlite and a pg Pool.
 * Everything above it speaks the PostgreSQL dialect through these calls; SQL itself lives only in
 * src/db/ (src/db/sql/*, and the transaction helpers of src/db/transactions.ts).
 *
 * `Queryable` is what a SQL function takes (the database or a transaction alike); `Db` and
 * `Transaction` add what only the owner of a connection, or of a transaction, may do.
 */
export interface QueryResult<T> {
  rows: T[]
  rowCount: number
}

export type DbKind = 'pglite' | 'postgres'

/** pg-boss's `db` option: it runs every statement of a queue call through this. */
export interface BossDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>
}

export interface QueryOptions {
  /**
   * Names a hot statement of fixed text so PostgreSQL parses and plans it once per connection and
   * then reuses the plan: for the API's most polled read, planning cost more than running it
   * (bench/findings.md, API benchmark). One name, one text. Only for statements whose plan does not
   * depend on the parameters' values (a reused plan is a generic one). PGlite runs it unnamed.
   */
  prepare?: string
}

export interface Queryable {
  readonly kind: DbKind
  /** One statement with $1… parameters. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<T>>
}

/** What the database and a transaction both offer besides single statements. */
interface Connection extends Queryable {
  /** Several statements, no parameters (migrations, pg-boss maintenance commands). */
  exec(sql: string): Promise<void>
  /** pg-boss `db` option over this connection; from a transaction, a job sent through it commits with the transaction. */
  bossAdapter(): BossDb
}

export interface Db extends Connection {
  /** Runs fn in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>
  close(): Promise<void>
}

export interface Transaction extends Connection {
  /**
   * Bulk-loads rows with COPY on PostgreSQL; on PGlite the caller falls back to batched INSERTs.
   * Undefined when the backend has no COPY stream.
   */
  copyFrom?: (copySql: string) => NodeJS.WritableStream & { on(event: 'finish' | 'error', cb: (err?: Error) => void): unknown }
}
