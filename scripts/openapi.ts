/**
 * Writes the OpenAPI document (`/docs/json`) without listening: the real app on an in-memory PGlite
 * in a temporary data directory. `npm run lint:openapi` lints it (redocly.yaml).
 *
 *   npx tsx scripts/openapi.ts [file]    (default: standard output)
 */
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { loadConfig } from '../src/config.js'
import { openDb } from '../src/db/open.js'
import { createLogger } from '../src/log.js'
import { startRuntime } from '../src/runtime.js'

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-openapi-'))
try {
  // only what shapes the document is taken from the environment: the servers entry
  const config = loadConfig({
    FERRY_DATA_DIR: dataDir,
    FERRY_MASTER_KEY: Buffer.alloc(32).toString('base64'),
    FERRY_BOOTSTRAP_API_KEY: 'fy_openapi_dump_key_not_used_0123456789',
    FERRY_SCHEDULER_INTERVAL_MS: '0',
    LOG_LEVEL: 'silent',
    ...(process.env.FERRY_PUBLIC_URL ? { FERRY_PUBLIC_URL: process.env.FERRY_PUBLIC_URL } : {}),
  })
  const runtime = await startRuntime(config, {
    role: 'all', logger: createLogger({ level: 'silent' }), db: await openDb({ memory: true }), print: () => {},
  })
  try {
    await runtime.app!.ready()
    const text = JSON.stringify(runtime.app!.swagger(), null, 2) + '\n'
    const out = process.argv[2]
    if (out) {
      await fs.mkdir(path.dirname(out), { recursive: true })
      await fs.writeFile(out, text)
    } else {
      process.stdout.write(text)
    }
  } finally {
    await runtime.stop()
  }
} finally {
  await fs.rm(dataDir, { recursive: true, force: true })
}
