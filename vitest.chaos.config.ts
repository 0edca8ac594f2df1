import { defineConfig } from 'vitest/config'

// `npm run chaos`: the fault-injection suite at full size (bench/chaos/, test/chaos/). PostgreSQL only,
// one scenario at a time (they kill processes and restart a PostgreSQL server); writes docs/reliability.md.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    execArgv: ['--openssl-legacy-provider'],
    maxWorkers: 1,
    fileParallelism: false,
    env: { FERRY_TEST_DB: 'postgres' },
    globalSetup: ['test/chaos/global-setup.ts'],
  },
})
