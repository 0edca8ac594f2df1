import type { Db } from './client.js'

/** PostgreSQL when a URL is configured, else embedded PGlite (in FERRY_DATA_DIR, or in memory). */
export async function openDb (options: { databaseUrl?: string, dataDir?: string, memory?: boolean }): Promise<Db> {
  if (options.databaseUrl) {
    const { openPostgres } = await import('./postgres.js')
    return openPostgres(options.databaseUrl)
  }
  const { openPglite } = await import('./pglite.js')
  return openPglite(options.memory ? undefined : options.dataDir)
}
