import type { Deps } from '../deps.js'
import type { Db, Queryable } from '../db/client.js'
import {
  claimMaintenance, deleteJob, deleteUpload, expiredUploads, finishMaintenance, lastItemRow, lastJobResultRow,
  purgeAuditLog, purgeChannelDeliveries, purgeInboundIds, purgeItems, purgeJobResults, purgeSyncs,
} from '../db/sql/retention.js'
import { DELIVERY_RETENTION_DAYS } from '../inbound/receive.js'
import { startPeriodic, type Periodic } from '../util/periodic.js'

const DAY_MS = 24 * 60 * 60 * 1000
const TASK = 'retention'
/** Rows per statement: each one commits on its own, so locks and the connection are held briefly. */
export const PURGE_BATCH = 5000
/** Syncs per statement: a sync carries its whole manifest (a pull of 2,000 files, hundreds of KB of jsonb). */
const SYNC_BATCH = 1000
/** Uploads examined per round (each one's items and job results are then purged in batches). */
const UPLOAD_BATCH = 100
/** How often each worker checks whether the daily purge is due (one of them then claims it). */
const CHECK_EVERY_MS = 10 * 60 * 1000

export interface PurgeOptions {
  retentionDays: number
  /** the clock the windows are measured from (tests inject one) */
  now?: Date
  batch?: number
  /** pause between statements, ms: queries of the API that wait for the database go in between */
  pauseMs?: number
  /** stops between statements (the process is stopping); what is left goes the next day */
  signal?: AbortSignal
}

export interface PurgeCounts {
  syncs: number
  auditEntries: number
  notificationDeliveries: number
  inboundWebhookIds: number
  uploads: number
  items: number
  mappingJobs: number
  jobResults: number
}

/**
 * Deletes what is older than the retention window (docs/reliability.md "Retention"), in batches of
 * bounded statements. Order matters: syncs go first (with their push deliveries), so the uploads
 * whose mapping jobs were only pushed long ago are free to go; a job goes with its upload. The file
 * ledger (source_files) is never touched, so a purged file is not ingested again.
 */
export async function purgeExpired (db: Db, options: PurgeOptions): Promise<PurgeCounts> {
  const now = options.now ?? new Date()
  const cutoff = new Date(now.getTime() - options.retentionDays * DAY_MS)
  const limit = options.batch ?? PURGE_BATCH
  const counts: PurgeCounts = {
    syncs: 0, auditEntries: 0, notificationDeliveries: 0, inboundWebhookIds: 0, uploads: 0, items: 0, mappingJobs: 0, jobResults: 0,
  }
  const step = async (run: () => Promise<number>): Promise<number> => {
    options.signal?.throwIfAborted()
    const n = await run()
    if (options.pauseMs) await new Promise(resolve => setTimeout(resolve, options.pauseMs))
    return n
  }
  /** repeats a batch delete until one comes back short */
  const drain = async (key: keyof PurgeCounts, run: (max: number) => Promise<number>, max = limit) => {
    for (let n = max; n >= max;) counts[key] += (n = await step(() => run(max)))
  }
  await drain('syncs', (max) => purgeSyncs(db, cutoff, max), Math.min(limit, SYNC_BATCH))
  await drain('auditEntries', (max) => purgeAuditLog(db, cutoff, max))
  await drain('notificationDeliveries', (max) => purgeChannelDeliveries(db, cutoff, max))
  const inboundCutoff = new Date(now.getTime() - DELIVERY_RETENTION_DAYS * DAY_MS)
  await drain('inboundWebhookIds', (max) => purgeInboundIds(db, inboundCutoff, max))
  for (;;) {
    const uploads = await expiredUploads(db, cutoff, UPLOAD_BATCH)
    let gone = 0
    for (const upload of uploads) {
      for (const jobId of upload.jobIds) {
        counts.jobResults += await byRanges(step, await lastJobResultRow(db, jobId), limit, (after) => purgeJobResults(db, jobId, after, limit))
        if (await step(async () => Number(await deleteJob(db, jobId)))) counts.mappingJobs++
      }
      const purged = await purgeUpload(db, upload, limit, step)
      counts.items += purged.items
      if (purged.gone) gone++
    }
    counts.uploads += gone
    // a round that could delete none of its uploads (each gained a job meanwhile) would find them again
    if (uploads.length < UPLOAD_BATCH || gone === 0) break
  }
  return counts
}

/**
 * An upload's items range by range, then the upload row (refused while a mapping job refers to it):
 * the expired uploads here, and the staged uploads of files that were never published (src/retention/staged.ts).
 */
export async function purgeUpload (db: Queryable, upload: { id: string, seq: number }, limit = PURGE_BATCH,
  step: (run: () => Promise<number>) => Promise<number> = run => run()): Promise<{ items: number, gone: boolean }> {
  const items = await byRanges(step, await lastItemRow(db, upload.seq), limit, (after) => purgeItems(db, upload.seq, after, limit))
  return { items, gone: await step(async () => Number(await deleteUpload(db, upload.id))) > 0 }
}

/** Deletes rows (0, last] range by range (src/db/sql/retention.ts); the total deleted. */
async function byRanges (step: (run: () => Promise<number>) => Promise<number>, last: number, limit: number,
  run: (after: number) => Promise<number>): Promise<number> {
  let total = 0
  for (let after = 0; after < last; after += limit) total += await step(() => run(after))
  return total
}

/**
 * Claims the daily purge (one process runs it per day) and runs it; false when another process
 * ran it less than a day ago.
 */
export async function runDailyPurge (deps: Pick<Deps, 'db' | 'logger' | 'config' | 'signal'>, now?: Date): Promise<PurgeCounts | false> {
  const { db, logger, config } = deps
  if (!await claimMaintenance(db, TASK, DAY_MS / 1000)) return false
  const started = Date.now()
  let counts: PurgeCounts
  try {
    counts = await purgeExpired(db, { retentionDays: config.retentionDays, now, pauseMs: 10, signal: deps.signal })
  } catch (err) {
    // stopped between two statements: what was deleted stays deleted, the rest goes at the next run
    if (deps.signal.aborted) {
      logger.info('retention purge stopped by the shutdown; it carries on at the next run')
      return false
    }
    throw err
  }
  await finishMaintenance(db, TASK)
  logger.info({ retentionDays: config.retentionDays, ...counts, durationMs: Date.now() - started }, 'retention purge finished')
  return counts
}

/** Every worker checks every 10 minutes; the first to find the purge due runs it (src/runtime.ts). */
export function startRetention (deps: Pick<Deps, 'db' | 'logger' | 'config' | 'signal'>): Periodic {
  return startPeriodic('retention purge', CHECK_EVERY_MS, () => runDailyPurge(deps), deps.logger)
}
