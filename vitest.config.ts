import { defineConfig } from 'vitest/config'

// The integration suite runs twice, once per database backend: the embedded PGlite and the
// local PostgreSQL server (a fresh database per test file, see test/helpers/db.ts).
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // s3rver's continuation tokens use DES: any paginated listing (MaxKeys=1 over two keys
    // included) answers 500 unless the process that runs it has OpenSSL's legacy provider
    execArgv: ['--openssl-legacy-provider'],
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'pglite', include: ['test/integration/**/*.test.ts'], env: { FERRY_TEST_DB: 'pglite' } } },
      { extends: true, test: { name: 'postgres', include: ['test/integration/**/*.test.ts'], env: { FERRY_TEST_DB: 'postgres' } } },
    ],
  },
})
