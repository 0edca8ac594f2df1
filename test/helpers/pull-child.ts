/**
 * Runs one pull (`pullSource`) of the source given as argv[2] against the database at
 * DATABASE_URL, configured from the environment like a Ferry worker (FERRY_MASTER_KEY,
 * FERRY_ALLOW_PRIVATE_NETWORKS, FERRY_PULL_LEASE_SECONDS, …). Prints one JSON line when its
 * services are up ({"event":"ready"}) and one with the finished sync ({"event":"done",…}).
 *
 * test/integration/pull-faults.test.ts and worker-lost.test.ts SIGKILL it in the middle of a file
 * to prove that a worker dying mid-file leaves nothing of that file behind. They start it with
 * `spawnPullChild` (test/helpers/process.ts), which runs
 * `node --import tsx --openssl-legacy-provider test/helpers/pull-child.ts <sourceId> [<pg-boss job id>]` (with a job id, the
 * sync records it as the job running the pull, as a worker's would).
 */
import type { PgBoss } from 'pg-boss'
import { loadConfig } from '../../src/config.js'
import { openDb } from '../../src/db/open.js'
import { findSourcesUsingSecret } from '../../src/db/sql/sources.js'
import type { Deps } from '../../src/deps.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { AddressPolicy } from '../../src/net/address-policy.js'
import { InventoryPipeline } from '../../src/pipeline/ingest.js'
import { pullSource } from '../../src/sync/pull.js'
import { loadMasterKey } from '../../src/vault/keyring.js'
import { openVault } from '../../src/vault/vault.js'

const sourceId = process.argv[2]
const jobId = process.argv[3]
if (!sourceId) throw new Error('usage: pull-child.ts <sourceId> [<jobId>]')
const config = loadConfig(process.env)
if (!config.databaseUrl) throw new Error('pull-child needs DATABASE_URL: an embedded database cannot be shared with the test process')
const logger = createLogger({ level: 'warn', destination: process.stderr })
const db = await openDb({ databaseUrl: config.databaseUrl })
const vault = await openVault(db, await loadMasterKey(config, { logger }), { logger, findSecretUsers: findSourcesUsingSecret })
const metrics = createMetrics()
const deps: Deps = {
  config,
  db,
  logger,
  vault,
  // a pull never touches the queue; the child runs no pg-boss so it cannot pick up the test's jobs
  boss: undefined as unknown as PgBoss,
  metrics,
  // PULL_CHILD_CHUNK_ROWS: small staged chunks, so a test can kill the child while a file is staged
  pipeline: new InventoryPipeline({
    limits: config.limits, onRowsAccepted: n => metrics.rowsIngested.inc(n), chunkRows: Number(process.env.PULL_CHILD_CHUNK_ROWS) || undefined,
  }),
  policy: new AddressPolicy(config.allowPrivateNetworks),
  isReady: async () => true,
  signal: new AbortController().signal,
}
process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n')
const sync = await pullSource(deps, { sourceId, trigger: 'manual', jobId })
process.stdout.write(JSON.stringify({ event: 'done', syncId: sync.id, status: sync.status }) + '\n')
await db.close()
