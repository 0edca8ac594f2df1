import type { Deps } from '../deps.js'
import type { Queryable } from '../db/client.js'
import { abandonStaging, claimAbandonedUploads } from '../db/sql/inventory.js'
import { startPeriodic, type Periodic } from '../util/periodic.js'
import { purgeUpload } from './purge.js'

/*
 * Staged uploads (docs/reliability.md "Short ingest transactions"): a file bigger than one chunk
 * lands its rows under an unpublished upload whose staging lease its process renews as chunks land.
 * A file that is refused, fails or is cut off gives its staged rows up; a process that dies leaves
 * them until the lease lapses. The sweep purges both, in the bounded statements of the retention purge.
 */

/** The staging lease: a live ingest renews it with every chunk, far more often than this. */
export const STAGING_LEASE_SECONDS = 300
/** How often each worker sweeps abandoned staged uploads (and once at start). */
const SWEEP_EVERY_MS = 60_000
/** Staged uploads claimed per statement. */
const CLAIM_BATCH = 100

/** Gives a staged upload up and purges it now: its items go in bounded statements, then its row. */
export async function discardStaged (db: Queryable, upload: { id: string, seq: number }): Promise<void> {
  await abandonStaging(db, upload.id)
  await purgeUpload(db, upload)
}

/**
 * Purges every staged upload whose lease is past (`asOf`, default the database's clock; tests pass
 * a later time to stand for a lapsed lease). The number purged.
 */
export async function purgeAbandonedUploads (db: Queryable, options: { asOf?: Date } = {}): Promise<number> {
  let total = 0
  for (;;) {
    const claimed = await claimAbandonedUploads(db, options.asOf ?? null, CLAIM_BATCH)
    for (const upload of claimed) await purgeUpload(db, upload)
    total += claimed.length
    if (claimed.length < CLAIM_BATCH) return total
  }
}

/** Every worker sweeps at start and every minute (src/runtime.ts); a failed sweep is logged and tried again. */
export function startStagedSweep (deps: Pick<Deps, 'db' | 'logger'>): Periodic {
  return startPeriodic('staged upload sweep', SWEEP_EVERY_MS, async () => {
    const purged = await purgeAbandonedUploads(deps.db)
    if (purged > 0) deps.logger.info({ purged }, 'purged the staged rows of files that were never published')
  }, deps.logger, { immediately: true })
}
