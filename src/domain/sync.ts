// Plain values the API schemas (src/schemas) share with the rest of the server; no imports, so the
// web UI can type-check against the schemas (web/src/api/types.ts).

/** Stored statuses. */
export type SyncStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'cancelled'
/**
 * Statuses as the API shows them: a push waiting for its next attempt is `retrying`. Derived from its
 * delivery (the sync row says `running`), so the delivery state machine stays the one record of it.
 */
export type ShownSyncStatus = SyncStatus | 'retrying'
export const SHOWN_SYNC_STATUSES: readonly ShownSyncStatus[] = ['running', 'retrying', 'succeeded', 'partial', 'failed', 'cancelled']
export const SYNC_TRIGGERS: readonly SyncTrigger[] = ['schedule', 'manual', 'webhook', 'job_complete']
export type SyncTrigger = 'schedule' | 'manual' | 'webhook' | 'job_complete'
