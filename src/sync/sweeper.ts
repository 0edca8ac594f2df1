import type { Deps } from '../deps.js'
import { afterPull } from '../pending-items/pull-failures.js'
import { takeDeadLeases } from '../db/sql/sources.js'
import { failLostSyncs, lostSyncCandidates, type LostSyncCandidate, type Sync } from '../db/sql/syncs.js'
import { ERRORS } from '../errors.js'
import { failLostPullJob, pullJobWaiting } from './queue.js'
import { startPeriodic, type Periodic } from '../util/periodic.js'

/** Lost syncs closed per sweep; a sweep that finds more leaves them to the next one. */
const SWEEP_BATCH = 100

const WORKER_LOST = { code: 'WORKER_LOST', message: ERRORS.WORKER_LOST.message } as const

/**
 * The lost-pull sweep (docs/reliability.md, "Processes that die or stop"): a pull whose worker
 * died leaves its sync `running` and its lease to expire. Every worker process looks for such syncs
 * once per scheduler tick and closes them as failed (`WORKER_LOST`) — within the lease plus a tick,
 * rather than whenever the source is pulled again — and hands the pull's pg-boss job back to the
 * queue. Outbound syncs are not touched: a push whose worker died is taken over by the delivery
 * sweeper (src/push/service.ts) and carries on as a new attempt of the same sync.
 */
export async function sweepLostSyncs (deps: Deps): Promise<Sync[]> {
  const { db, boss, config } = deps
  const candidates = await lostSyncCandidates(db, config.pullLeaseSeconds, SWEEP_BATCH)
  const lost: LostSyncCandidate[] = []
  for (const c of candidates) {
    // an on-demand pull's sync is created before its job runs: while the job waits, nothing is lost
    if (c.jobId && await pullJobWaiting(boss, c.jobId)) continue
    lost.push(c)
  }
  if (lost.length === 0) return []
  const closed = await db.transaction(async (tx) => {
    const dead = await takeDeadLeases(tx, [...new Set(lost.map(c => c.sourceId))])
    return failLostSyncs(tx, lost.filter(c => dead.has(c.sourceId)).map(c => c.id), WORKER_LOST)
  })
  for (const sync of closed) {
    deps.logger.warn({ syncId: sync.id, sourceId: sync.sourceId, trigger: sync.trigger }, 'closed a pull whose worker stopped (WORKER_LOST)')
    deps.metrics.syncs.inc({ direction: 'inbound', trigger: sync.trigger, status: 'failed' })
    try {
      const { lastAttempt } = await failLostPullJob(boss, sync.jobId, WORKER_LOST)
      // as any failed pull: a scheduled one files its pending item once pg-boss has no retry left
      await afterPull(deps, { sourceId: sync.sourceId, trigger: sync.trigger, sync, lastAttempt })
    } catch (err) {
      deps.logger.error({ err, syncId: sync.id }, 'could not hand a lost pull back to the queue')
    }
  }
  return closed
}

/** Runs the sweep in the background every `everyMs` (src/runtime.ts: every worker process). */
export function startSyncSweeper (deps: Deps, everyMs: number): Periodic {
  return startPeriodic('lost-pull sweep', everyMs, () => sweepLostSyncs(deps), deps.logger)
}
