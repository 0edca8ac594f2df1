import type { Deps } from '../deps.js'
import { getAgent } from '../db/sql/agents.js'
import { getSourceById } from '../db/sql/sources.js'
import type { Sync } from '../db/sql/syncs.js'
import { ERRORS, isAppError, type ErrorCode } from '../errors.js'
import { reportFailure, reportRecovery } from './pending-items.js'

/**
 * What an automatic pull's outcome means for the DATA_SOURCE_PULL_FAILED pending item.
 * Decisions (docs/scaling.md, "Failures of scheduled pulls"):
 *
 * - a pull whose listing failed (status `failed`, or `partial` with a listing error) is a failure;
 *   one whose listing succeeded is a success, even if some files were rejected (those are in the
 *   sync's manifest; the source itself works);
 * - a transient failure (S3_ERROR: timeouts, throttling, 5xx, unreachable) is retried by pg-boss
 *   first; the item is filed on the last attempt. A config failure (S3_CONFIG, a missing or wrong
 *   secret) will not heal by retrying: it is filed at once and not retried;
 * - failures that are not the source's fault — another pull holding the source (PULL_IN_PROGRESS),
 *   a lost lease, a stopping process (SHUTTING_DOWN), an internal error — file nothing (the last is
 *   logged as an error);
 * - a pull whose worker died (WORKER_LOST, closed by the lost-pull sweep, src/sync/sweeper.ts) is a
 *   transient failure like any other: retried by pg-boss, filed on the last attempt — a file that
 *   kills every worker that reads it must not go unnoticed;
 * - every successful pull, scheduled or on demand, resolves the open item (`auto`). Only scheduled
 *   pulls file items: the caller of an on-demand pull sees its error directly.
 */

export type PullVerdict = 'ok' | 'retry' | 'done'

/** After a pull finished (returned its sync): files, retries or resolves. */
export async function afterPull (deps: Deps, input: { sourceId: string, trigger: Sync['trigger'], sync: Sync, lastAttempt: boolean }): Promise<PullVerdict> {
  const { sync } = input
  // an operator stopped it: neither a failure nor a recovery
  if (sync.status === 'cancelled') return 'done'
  const listingFailed = sync.error !== null && (sync.status === 'failed' || sync.status === 'partial')
  if (!listingFailed) {
    await reportRecovery(deps, { sourceId: input.sourceId, type: 'DATA_SOURCE_PULL_FAILED' })
    return 'ok'
  }
  if (input.trigger !== 'schedule') return 'done'
  const transient = isTransientCode(sync.error!.code)
  if (transient && !input.lastAttempt) return 'retry'
  await fileFailure(deps, input.sourceId, sync.error!.message, transient)
  return 'done'
}

/** After a pull threw (vault, database, lease…): files config failures of scheduled pulls on the spot. */
export async function afterPullError (deps: Deps, input: { sourceId: string, trigger: Sync['trigger'], error: unknown, lastAttempt: boolean }): Promise<void> {
  if (input.trigger !== 'schedule' || !isAppError(input.error)) return
  const err = input.error
  // the source or agent is gone: nothing to file against
  if (err.code === 'NOT_FOUND' && !await getSourceById(deps.db, input.sourceId)) return
  if (err.failureType === 'config') {
    await fileFailure(deps, input.sourceId, err.message, false)
  }
}

async function fileFailure (deps: Deps, sourceId: string, reason: string, transient: boolean): Promise<void> {
  const source = await getSourceById(deps.db, sourceId)
  if (!source) return
  const agent = await getAgent(deps.db, source.orgId, source.agentId)
  if (!agent) return
  const rule = agent.rules.onPullFailure
  if (!rule.pendingItem) {
    deps.logger.info({ sourceId }, 'scheduled pull failed; the agent\'s rules file no pending item')
    return
  }
  const next = transient
    ? 'Ferry retried it and keeps pulling on the schedule; if this persists, check the store\'s status and the endpoint.'
    : 'Ferry keeps trying on the schedule. Fix the source (its Test button checks each step); this item resolves itself after the next successful pull.'
  await reportFailure(deps, {
    orgId: source.orgId,
    agentId: source.agentId,
    sourceId,
    type: 'DATA_SOURCE_PULL_FAILED',
    message: `The scheduled pull of "${source.name}" failed: ${reason.trim()} ${next}`,
    notify: rule.notify,
  })
}

function isTransientCode (code: string): boolean {
  return code in ERRORS && ERRORS[code as ErrorCode].failureType === 'transient'
}
