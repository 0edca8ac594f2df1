import type { PendingItem } from '../db/sql/pending-items.js'

/** A pending item as the API (and webhook channels) show it: the fields of docs/scaling.md, "Failures of scheduled pulls", no org id. */
export function presentItem (item: PendingItem) {
  return {
    id: item.id,
    agentId: item.agentId,
    sourceId: item.sourceId,
    type: item.type,
    status: item.status,
    message: item.message,
    occurrences: item.occurrences,
    firstSeenAt: item.firstSeenAt,
    lastSeenAt: item.lastSeenAt,
    resolvedAt: item.resolvedAt,
    resolution: item.resolution,
  }
}
