import type { Deps } from '../deps.js'
import type { Transaction } from '../db/client.js'
import { leaseActive } from '../db/sql/sources.js'
import { finishSync, insertSync, lockPullRequests, runningSyncOf, setSyncJob, type Sync } from '../db/sql/syncs.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import { AppError } from '../errors.js'
import { isPulled, pulledLabels } from '../kinds/registry.js'
import { enqueuePull, findPullJob } from '../sync/queue.js'
import { newId } from '../util/ids.js'
import { requireSource } from './lookup.js'

/**
 * POST …/pull, "Pull now": the id of the sync that will answer for it. Requests for one source are
 * serialised (lockPullRequests, until the transaction ends), and the sync row and its queued job
 * commit together, so of many concurrent requests one starts a pull and the others join it: they
 * answer with its id and record nothing (docs/reliability.md). A sync left running by a dead worker
 * is closed first. A queued scheduled pull (which has no sync row yet) refuses with
 * PULL_IN_PROGRESS: it starts shortly anyway.
 */
export async function requestPull (
  deps: Deps, orgId: string, agentId: string, sourceId: string, actor: Actor,
): Promise<{ syncId: string, joined: boolean }> {
  const source = await requireSource(deps.db, orgId, agentId, sourceId)
  if (!isPulled(source)) throw new AppError('CONFLICT', `Only ${pulledLabels()} inventory sources can be pulled.`)
  if (!source.enabled) throw new AppError('SOURCE_DISABLED', 'The data source is disabled; enable it to pull.')
  return deps.db.transaction(async (tx) => {
    await lockPullRequests(tx, source.id)
    const running = await runningSyncOf(tx, source.id)
    if (running && await pullIsAlive(deps, tx, source.id, running)) return { syncId: running.id, joined: true }
    if (running) {
      const error = { code: 'LEASE_LOST', message: 'The worker running this sync stopped; a new pull took over.' }
      await finishSync(tx, running.id, { status: 'failed', error })
    }
    const sync = await insertSync(tx, { id: newId(), orgId: source.orgId, sourceId: source.id, direction: 'inbound', trigger: 'manual' })
    const jobId = await enqueuePull(deps.boss, { sourceId: source.id, trigger: 'manual', syncId: sync.id }, { db: tx.bossAdapter() })
    // rolls the sync back with the transaction: nothing is recorded for a refused request
    if (!jobId) throw new AppError('PULL_IN_PROGRESS', 'A scheduled pull of this source is queued and starts shortly.')
    await setSyncJob(tx, sync.id, jobId)
    await recordAudit(tx, actor, { action: 'pull', resourceType: 'data_source', resourceId: source.id, changes: { syncId: { after: sync.id } } })
    return { syncId: sync.id, joined: false }
  })
}

/**
 * Whether a `running` sync still has a pull behind it: a pull holds the source's lease, or its job is
 * queued, or a worker fetched the job within the lease time and is about to take the lease.
 * Otherwise the worker that ran it died, and a new pull may take over at once.
 */
async function pullIsAlive (deps: Deps, tx: Transaction, sourceId: string, sync: Sync): Promise<boolean> {
  if (await leaseActive(tx, sourceId)) return true
  if (!sync.jobId) return false
  const job = await findPullJob(deps.boss, sync.jobId, tx.bossAdapter())
  if (job === null) return false
  if (job.state === 'created' || job.state === 'retry') return true
  return job.state === 'active' && job.startedOn !== null && Date.now() - new Date(job.startedOn).getTime() < deps.config.pullLeaseSeconds * 1000
}
