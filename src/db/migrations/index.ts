import foundation from './001_foundation.js'

/**
 * The one migration set, applied in order on both backends. Append only: a shipped migration is
 * never edited, a change is a new entry.
 */
export const MIGRATIONS: ReadonlyArray<{ id: number, name: string, sql: string }> = [
  { id: 1, name: 'foundation', sql: foundation },
]
