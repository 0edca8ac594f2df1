import type { Deps } from '../deps.js'
import type { Transaction } from '../db/client.js'
import { channelIdsOf, insertDeliveries, type DeliveryEvent } from '../db/sql/channels.js'
import {
  getItem, listItems, resolveItemById, resolveOpenItem, upsertOpenItem,
  type NotifySelection, type PendingItem, type PendingItemStatus, type PendingItemType,
} from '../db/sql/pending-items.js'
import { requireAgent } from '../agents/service.js'
import { AppError } from '../errors.js'
import { enqueueDeliveries } from '../channels/queue.js'
import { newId } from '../util/ids.js'
import { recordAudit, type Actor } from '../audit/audit.js'

export type { PendingItem, PendingItemType, NotifySelection } from '../db/sql/pending-items.js'

/**
 * The pending-item machinery (docs/scaling.md, "Failures of scheduled pulls"; docs/push.md, "Pending items"), shared by automatic pulls
 * (DATA_SOURCE_PULL_FAILED) and pushes (DATA_SOURCE_PUSH_FAILED):
 *
 * - reportFailure opens the one open item of (source, type), or counts a repeat on it;
 * - reportRecovery resolves it (`auto`) when the next run succeeds;
 * - resolveManually is the API's "resolve by hand" (`manual`).
 *
 * Channels hear of an item when it opens and when it resolves, never on a repeat. The deliveries
 * are recorded and enqueued in the transaction that opens/resolves the item, so an item is never
 * opened without its notifications being queued (and never announced twice: one delivery row per
 * (channel, item, event)). Sending happens later, in the `notify-channel` job, so a slow or broken
 * channel never holds up the pull or push that reported.
 */

export interface FailureReport {
  orgId: string
  agentId: string
  sourceId: string
  type: PendingItemType
  /** what went wrong and what to do about it, for a person */
  message: string
  /** the rule set's choice: every channel of the agent, or these channel ids */
  notify: NotifySelection
}

/** Opens or bumps the open item of (source, type); when this call opened it, its channels are notified. */
export async function reportFailure (deps: Deps, input: FailureReport): Promise<{ item: PendingItem, opened: boolean }> {
  const result = await deps.db.transaction(async (tx) => {
    const { item, opened } = await upsertOpenItem(tx, {
      id: newId(), orgId: input.orgId, agentId: input.agentId, sourceId: input.sourceId, type: input.type,
      message: truncateMessage(input.message), notify: input.notify,
    })
    if (opened) await queueNotifications(tx, deps, item, 'opened')
    return { item, opened }
  })
  deps.logger.info({ itemId: result.item.id, sourceId: input.sourceId, type: input.type, opened: result.opened, occurrences: result.item.occurrences },
    result.opened ? 'pending item opened' : 'pending item repeated')
  return result
}

/** Resolves the open item of (source, type) automatically (`auto`) and notifies its channels; null when none was open. */
export async function reportRecovery (deps: Deps, input: { sourceId: string, type: PendingItemType }): Promise<PendingItem | null> {
  const item = await deps.db.transaction(async (tx) => {
    const resolved = await resolveOpenItem(tx, input.sourceId, input.type, 'auto')
    if (resolved) await queueNotifications(tx, deps, resolved, 'resolved')
    return resolved
  })
  if (item) deps.logger.info({ itemId: item.id, sourceId: input.sourceId, type: input.type }, 'pending item resolved automatically')
  return item
}

/**
 * A person resolved the item (`manual`). An item that is already resolved answers as it is; one
 * that is not an item of this organisation's agent → NOT_FOUND.
 */
export async function resolveManually (deps: Deps, input: { orgId: string, agentId: string, itemId: string, actor?: Actor }): Promise<PendingItem> {
  const agent = await requireAgent(deps.db, input.orgId, input.agentId)
  const item = await deps.db.transaction(async (tx) => {
    const resolved = await resolveItemById(tx, input.orgId, agent.id, input.itemId, 'manual')
    if (resolved) await queueNotifications(tx, deps, resolved, 'resolved')
    if (resolved && input.actor) {
      await recordAudit(tx, input.actor, {
        action: 'resolve', resourceType: 'pending_item', resourceId: resolved.id, changes: { status: { before: 'open', after: 'resolved' } },
      })
    }
    return resolved
  })
  if (!item) {
    const current = await getItem(deps.db, input.orgId, agent.id, input.itemId)
    if (!current) throw new AppError('NOT_FOUND', 'Pending item not found.')
    return current
  }
  deps.logger.info({ itemId: item.id, sourceId: item.sourceId, type: item.type }, 'pending item resolved by hand')
  return item
}

/** An agent's pending items, newest first. */
export async function listPendingItems (
  deps: Pick<Deps, 'db'>, orgId: string, agentId: string, filter: { status?: PendingItemStatus, limit: number },
): Promise<PendingItem[]> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  return listItems(deps.db, orgId, agent.id, filter)
}

/** One delivery row + one `notify-channel` job per selected channel, in the caller's transaction. */
async function queueNotifications (tx: Transaction, deps: Deps, item: PendingItem, event: DeliveryEvent): Promise<void> {
  const channelIds = await channelIdsOf(tx, item.agentId, item.notify)
  if (channelIds.length === 0) return
  const deliveries = await insertDeliveries(tx, {
    orgId: item.orgId, itemId: item.id, event, deliveries: channelIds.map(channelId => ({ id: newId(), channelId })),
  })
  await enqueueDeliveries(deps.boss, deliveries.map(d => d.id), { db: tx.bossAdapter() })
}

const MAX_MESSAGE_CHARS = 2000

function truncateMessage (message: string): string {
  const clean = message.trim() || 'The run failed.'
  return clean.length > MAX_MESSAGE_CHARS ? clean.slice(0, MAX_MESSAGE_CHARS - 1) + '…' : clean
}
