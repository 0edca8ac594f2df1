import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { loadConfig, type Config } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { startRuntime, type Role, type Runtime } from '../../src/runtime.js'
import type { Deps } from '../../src/deps.js'
import { createOrgWithAdminKey } from '../../src/auth/api-keys.js'
import { insertAgent, type Agent } from '../../src/db/sql/agents.js'
import { resolveAgent } from '../../src/domain/agent.js'
import { createSource } from '../../src/sources/service.js'
import type { DataSource } from '../../src/domain/source.js'
import { pullSource } from '../../src/sync/pull.js'
import type { Sync } from '../../src/db/sql/syncs.js'
import { newId } from '../../src/util/ids.js'
import { createPostgresDatabase } from '../../test/helpers/db.js'
import { S3_CREDENTIALS } from './s3.js'
import { timed } from './stats.js'

/** One fixed master key for a benchmark or chaos run, so child processes can decrypt the same vault. */
export const BENCH_MASTER_KEY = Buffer.alloc(32, 11).toString('base64')
export const BENCH_ADMIN_KEY = 'fy_bench_instance_admin_key_0123456789'

/** The environment of a Ferry process on `databaseUrl` (children get the same). */
export function ferryEnv (databaseUrl: string, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    FERRY_DATA_DIR: dataDir,
    FERRY_MASTER_KEY: BENCH_MASTER_KEY,
    FERRY_BOOTSTRAP_API_KEY: BENCH_ADMIN_KEY,
    FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
    LOG_LEVEL: 'warn',
    ...extra,
  }
}

export interface FerryInstance {
  url: string
  dataDir: string
  env: Record<string, string>
  runtime: Runtime
  deps: Deps
  orgId: string
  apiKey: string
  agent: Agent
  secretId: string
  /** an S3 inventory source on the benchmark bucket (validation ping included) */
  addS3Source (options: { endpoint: string, bucket: string, prefix: string, validate?: boolean, name?: string }): Promise<DataSource>
  pull (sourceId: string): Promise<Sync>
  close (): Promise<void>
}

/**
 * The real runtime (migrations, vault, pg-boss, routes; no job workers, so nothing runs unless asked)
 * on a fresh PostgreSQL database, with an organisation, an agent whose autoPull is off (no scheduled
 * pull can interfere) and an `aws` secret holding s3rver's credentials.
 */
export async function startFerry (
  options: { env?: Record<string, string>, role?: Role, database?: { url: string, drop(): Promise<void> } } = {}
): Promise<FerryInstance> {
  const database = options.database ?? await createPostgresDatabase()
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-bench-'))
  const env = ferryEnv(database.url, dataDir, options.env)
  const config: Config = loadConfig(env)
  const logger = createLogger({ level: env.LOG_LEVEL, pretty: false, destination: process.stderr as never })
  const runtime = await startRuntime(config, { role: options.role ?? 'api', logger, print: () => {} })
  const deps = runtime.deps
  const { org, apiKey } = await createOrgWithAdminKey(deps.db, 'bench')
  const agent = await insertAgent(deps.db, org.id, newId(), resolveAgent({ name: 'bench', rules: { autoPull: false } }))
  const { secret } = await deps.vault.create(org.id, { name: 's3rver', type: 'aws', value: { ...S3_CREDENTIALS } })
  return {
    url: database.url,
    dataDir,
    env,
    runtime,
    deps,
    orgId: org.id,
    apiKey,
    agent,
    secretId: secret.id,
    async addS3Source ({ endpoint, bucket, prefix, validate = true, name = `bench ${prefix}` }) {
      const { source } = await createSource(deps, org.id, agent.id, {
        name, role: 'INVENTORY_SOURCE', type: 's3', validate,
        config: { bucket, prefix, region: 'us-east-1', secretRef: secret.id, endpoint, forcePathStyle: true },
      })
      return source
    },
    pull: (sourceId: string) => pullSource(deps, { sourceId, trigger: 'manual' }),
    async close () {
      await runtime.stop()
      await database.drop().catch(() => {})
      await fs.rm(dataDir, { recursive: true, force: true })
    },
  }
}

/** A fresh Ferry's first pull of `prefix` in s3rver's bucket "bench", timed; the Ferry is closed after. */
export async function firstPull (endpoint: string, prefix: string): Promise<{ ms: number, sync: Sync }> {
  const f = await startFerry()
  try {
    const source = await f.addS3Source({ endpoint, bucket: 'bench', prefix })
    const { ms, value: sync } = await timed(() => f.pull(source.id))
    return { ms, sync }
  } finally {
    await f.close()
  }
}
