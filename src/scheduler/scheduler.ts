import { Cron } from 'croner'
import type { JobInsert, InsertOptions } from 'pg-boss'
import type { Deps } from '../deps.js'
import { claimDueSources, setNextPulls } from '../db/sql/schedule.js'
import { PULLED_TYPES } from '../kinds/registry.js'
import { coerceError } from '../errors.js'
import { PULL_QUEUE, type PullJobData } from '../sync/queue.js'

/**
 * The scheduler (docs/scaling.md, "The scheduler"): one loop in every worker process. There is no
 * pg-boss schedule or queue per source; the sources table is the schedule. Each tick, in ONE
 * transaction:
 *
 * 1. claim the due sources (`next_pull_at <= now`), oldest first, `FOR UPDATE SKIP LOCKED`, so the
 *    schedulers of several processes split the work and never take a source twice;
 * 2. compute each one's next run with croner strictly AFTER the database's NOW: a source that
 *    missed several runs while every worker was down is pulled once, not once per missed run;
 * 3. write the new next_pull_at values in one statement (jsonb_to_recordset);
 * 4. enqueue one pull job per source in one `boss.insert` statement, through the transaction, with
 *    round-robin priorities across organisations (src/scheduler/fairness.ts).
 *
 * Steps 3 and 4 commit together: a source whose next run moved on has its job, and a crash before
 * the commit leaves both as they were for the next tick. The pull queue's singletonKey (= source id)
 * drops the job of a source that already has one waiting.
 */

/** Sources claimed per transaction; a tick repeats while it keeps finding full batches. */
export const SCHEDULER_BATCH = 5000
/** Round-robin priorities bottom out here (pg-boss priorities are integers; deeper ranks share it). */
const MAX_RANK = 100_000
/** A tick never claims more than this many batches before it yields (the next tick continues). */
const MAX_BATCHES_PER_TICK = 20

export interface TickResult {
  /** due sources claimed */
  claimed: number
  /** pull jobs sent (the queue may have dropped some as duplicates of a waiting job) */
  enqueued: number
}

/** One tick: claims, reschedules and enqueues until no full batch is left. */
export async function runSchedulerTick (deps: Pick<Deps, 'db' | 'boss' | 'logger'>, options: { batchSize?: number } = {}): Promise<TickResult> {
  const batchSize = options.batchSize ?? SCHEDULER_BATCH
  const total: TickResult = { claimed: 0, enqueued: 0 }
  for (let i = 0; i < MAX_BATCHES_PER_TICK; i++) {
    const batch = await scheduleBatch(deps, batchSize)
    total.claimed += batch.claimed
    total.enqueued += batch.enqueued
    if (batch.claimed < batchSize) break
  }
  return total
}

async function scheduleBatch (deps: Pick<Deps, 'db' | 'boss' | 'logger'>, batchSize: number): Promise<TickResult> {
  return deps.db.transaction(async (tx) => {
    const { now, sources } = await claimDueSources(tx, batchSize, PULLED_TYPES)
    if (sources.length === 0) return { claimed: 0, enqueued: 0 }
    const crons = new CronCache()
    const next: Array<{ id: string, at: Date | null }> = []
    const jobs: JobInsert<PullJobData>[] = []
    const perOrg = new Map<string, number>()
    for (const s of sources) {
      if (!s.eligible) {
        // no longer scheduled (normally next_pull_at is cleared when that changes): stop matching it
        next.push({ id: s.id, at: null })
        continue
      }
      const at = crons.nextAfter(s.cron, s.timezone, now)
      if (at === undefined) {
        deps.logger.error({ sourceId: s.id, cron: s.cron, timezone: s.timezone }, 'schedule cannot be evaluated; the source is no longer pulled on a schedule')
      }
      next.push({ id: s.id, at: at ?? null })
      // round-robin across organisations: every org's 1st job, then every org's 2nd … (pg-boss
      // fetches by priority first), so a large organisation's batch does not queue ahead of the others
      const rank = perOrg.get(s.orgId) ?? 0
      perOrg.set(s.orgId, rank + 1)
      jobs.push({ data: { sourceId: s.id, trigger: 'schedule' }, singletonKey: s.id, priority: -Math.min(rank, MAX_RANK) })
    }
    await setNextPulls(tx, next)
    if (jobs.length > 0) await deps.boss.insert(PULL_QUEUE, jobs, { db: tx.bossAdapter() } as InsertOptions)
    return { claimed: sources.length, enqueued: jobs.length }
  })
}

/**
 * One croner instance per (pattern, timezone) per batch: 10,000 sources on the same cron cost one
 * parse. undefined = the pattern cannot be evaluated (it was validated when saved, so: never).
 */
class CronCache {
  readonly #crons = new Map<string, Cron | null>()

  nextAfter (pattern: string, timezone: string, after: Date): Date | null | undefined {
    const key = `${timezone}\u0000${pattern}`
    let cron = this.#crons.get(key)
    if (cron === undefined) {
      try {
        cron = new Cron(pattern, { paused: true, timezone })
      } catch {
        cron = null
      }
      this.#crons.set(key, cron)
    }
    return cron === null ? undefined : cron.nextRun(after)
  }
}

/**
 * Runs {@link runSchedulerTick} every `intervalMs` until stopped. It never throws and never stops on
 * an error: a failed tick is logged and the loop backs off (doubling, with jitter, up to 30 s)
 * before it tries again, so a database restart costs a few late ticks, not the process.
 */
export class SchedulerLoop {
  readonly #deps: Pick<Deps, 'db' | 'boss' | 'logger'>
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = true
  #failures = 0

  constructor (deps: Pick<Deps, 'db' | 'boss' | 'logger'>, options: { intervalMs: number }) {
    this.#deps = deps
    this.#intervalMs = options.intervalMs
  }

  start (): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#schedule(jitter(this.#intervalMs))
  }

  /** Stops the loop and waits for a tick in progress (its transaction commits or rolls back). */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  #schedule (delayMs: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().finally(() => { this.#running = undefined })
    }, delayMs)
  }

  async #tick (): Promise<void> {
    try {
      const result = await runSchedulerTick(this.#deps)
      if (this.#failures > 0) this.#deps.logger.info({ failures: this.#failures }, 'scheduler recovered')
      this.#failures = 0
      if (result.claimed > 0) this.#deps.logger.debug(result, 'scheduled pulls enqueued')
      this.#schedule(this.#intervalMs)
    } catch (err) {
      this.#failures++
      const backoff = Math.min(30_000, this.#intervalMs * 2 ** Math.min(this.#failures, 10))
      if (!this.#stopped) this.#deps.logger.error({ err: coerceError(err), failures: this.#failures, retryInMs: backoff }, 'scheduler tick failed; backing off')
      this.#schedule(jitter(backoff))
    }
  }
}

/** ±20 %: processes started together do not tick in lockstep forever. */
const jitter = (ms: number): number => Math.round(ms * (0.8 + Math.random() * 0.4))
