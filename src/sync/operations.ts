import type { Deps } from '../deps.js'
import { requireSource, sourceNotFound } from '../sources/lookup.js'
import { forgetLedgerEntries } from '../db/sql/sources.js'
import { finishSync, getSync, getSyncById, listSyncsOfSource, lockSyncForClose, type Sync, type SyncFilter } from '../db/sql/syncs.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import { AppError } from '../errors.js'
import { cancelPushIn } from '../push/service.js'
import { dropQueuedPull } from './queue.js'

export type { Sync }

/**
 * Operator actions on a source's syncs and ledger (docs/reliability.md, "Operating a source").
 */

/** A source's syncs, newest first (without manifests); a source not of this organisation's agent → NOT_FOUND. */
export async function listSyncsOf (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, sourceId: string, filter: SyncFilter): Promise<Sync[]> {
  const syncs = await listSyncsOfSource(deps.db, orgId, agentId, sourceId, filter)
  if (!syncs) throw sourceNotFound()
  return syncs
}

/** One sync of the organisation's source, with its full manifest. */
export async function getSyncOf (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, sourceId: string, syncId: string): Promise<Sync> {
  const source = await requireSource(deps.db, orgId, agentId, sourceId)
  const sync = await getSync(deps.db, orgId, source.id, syncId)
  if (!sync) throw new AppError('NOT_FOUND', 'Sync not found.')
  return sync
}

/** Polls the sync row until it leaves "running" (the pull may run in another process); null after `limitMs`. */
export async function waitForSync (deps: Pick<Deps, 'db'>, syncId: string, limitMs: number): Promise<Sync | null> {
  const deadline = Date.now() + limitMs
  while (Date.now() < deadline) {
    const sync = await getSyncById(deps.db, syncId)
    if (sync && sync.status !== 'running') return sync
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  return null
}

/**
 * POST …/syncs/{syncId}/cancel. A running pull: its sync is closed as `cancelled` here, after the
 * files being committed into it have committed (lockSyncForClose waits for them); the pull notices
 * within a second, stops its download, and the file in flight rolls back (src/sync/pull.ts). A push
 * waiting for its first attempt or a retry stops (cancelPushIn). A finished sync → 409 SYNC_FINISHED.
 */
export async function cancelSync (deps: Deps, orgId: string, agentId: string, sourceId: string, syncId: string, actor: Actor): Promise<Sync> {
  const source = await requireSource(deps.db, orgId, agentId, sourceId)
  const message = `Cancelled by ${actor.name}.`
  const closed = await deps.db.transaction(async (tx) => {
    const sync = await getSync(tx, orgId, source.id, syncId)
    if (!sync) throw new AppError('NOT_FOUND', 'Sync not found.')
    const locked = await lockSyncForClose(tx, sync.id)
    if (locked?.status !== 'running') {
      throw new AppError('SYNC_FINISHED', `The sync has already finished (${locked?.status ?? sync.status}); only a running sync can be cancelled.`,
        { details: { status: locked?.status ?? sync.status } })
    }
    if (locked.direction === 'outbound') await cancelPushIn(deps, tx, sync, message)
    else {
      // an on-demand pull whose job no worker has taken yet: the job goes too, so "Pull now" works again at once
      if (sync.jobId) await dropQueuedPull(deps.boss, sync.jobId, tx.bossAdapter())
      await finishSync(tx, sync.id, { status: 'cancelled', error: { code: 'SYNC_CANCELLED', message } })
    }
    await recordAudit(tx, actor, { action: 'cancel', resourceType: 'data_source', resourceId: source.id, changes: { syncId: { after: sync.id } } })
    return sync
  })
  // counted here, once: the pull that stops afterwards (if any) does not count it again
  deps.metrics.syncs.inc({ direction: closed.direction, trigger: closed.trigger, status: 'cancelled' })
  return (await getSync(deps.db, orgId, source.id, syncId))!
}

/**
 * POST …/reset { since? }: backfill. Forgets the source's file-ledger entries (all, or those of
 * files last modified at or after `since`), so the next pull takes those files again → `{ forgotten }`.
 * Only inventory sources have a ledger; a pull running meanwhile is not stopped (files it already
 * listed as known are taken by the next one).
 */
export async function resetSource (deps: Deps, orgId: string, agentId: string, sourceId: string, since: Date | null, actor: Actor): Promise<number> {
  const source = await requireSource(deps.db, orgId, agentId, sourceId)
  if (source.role !== 'INVENTORY_SOURCE') throw new AppError('CONFLICT', 'Only inventory sources keep a file ledger; a results sink has nothing to reset.')
  return deps.db.transaction(async (tx) => {
    const forgotten = await forgetLedgerEntries(tx, source.id, since)
    await recordAudit(tx, actor, {
      action: 'reset', resourceType: 'data_source', resourceId: source.id, changes: { ledger: { after: { forgotten, since: since?.toISOString() ?? null } } },
    })
    return forgotten
  })
}
