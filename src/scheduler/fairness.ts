import type { SendOptions } from 'pg-boss'
import type { Deps } from '../deps.js'
import { orgOfSource, otherOrgsPullsWaiting } from '../db/sql/schedule.js'
import { BOSS_SCHEMA } from '../queue/boss.js'

/**
 * Fair share of one worker process's pull slots across organisations (docs/scaling.md, "Fairness").
 *
 * A process runs `pullConcurrency` (N) pulls at once: N pg-boss work loops of one job each. An
 * organisation may hold `pullOrgConcurrency` (its share, default ⌈N/2⌉) of them. Beyond its share
 * it may borrow an idle slot while no other organisation's pull is waiting — but never the last
 * free one: with N ≥ 2 one slot always stays open for the others, so an organisation whose bucket
 * is slow or throttled (pulls holding their slots for minutes) cannot starve the rest.
 * A scheduled pull that may not run is deferred: re-enqueued a few seconds later with its priority
 * (src/scheduler/scheduler.ts gives each organisation's jobs round-robin priorities, so the next
 * fetch reaches the other organisations' jobs first). On-demand pulls are never deferred: a person
 * is waiting for them.
 */
export class PullFairShare {
  readonly #running = new Map<string, number>()
  #total = 0

  constructor (private readonly deps: Pick<Deps, 'db' | 'boss' | 'config' | 'logger'>) {}

  /** pulls of this organisation running in this process now */
  running (orgId: string): number {
    return this.#running.get(orgId) ?? 0
  }

  /** Runs `pull` if the organisation may take a slot now; otherwise defers the job. */
  async run<T> (job: FairJob, pull: () => Promise<T>): Promise<{ deferred: true } | { deferred: false, result: T }> {
    // an unknown source runs (and fails) as usual
    const orgId = await orgOfSource(this.deps.db, job.data.sourceId) ?? ''
    if (job.data.trigger === 'schedule' && !await this.#mayRun(orgId, job.name)) {
      await this.#defer(job)
      return { deferred: true }
    }
    this.#running.set(orgId, this.running(orgId) + 1)
    this.#total++
    try {
      return { deferred: false, result: await pull() }
    } finally {
      this.#total--
      const left = this.running(orgId) - 1
      if (left > 0) this.#running.set(orgId, left)
      else this.#running.delete(orgId)
    }
  }

  async #mayRun (orgId: string, queue: string): Promise<boolean> {
    const { pullOrgConcurrency: share, pullConcurrency: slots } = this.deps.config
    if (this.running(orgId) < share) return true
    // borrowing: never the last free slot, and only while nobody else waits
    if (this.#total >= slots - 1) return false
    return !await otherOrgsPullsWaiting(this.deps.db, BOSS_SCHEMA, queue, orgId)
  }

  async #defer (job: FairJob): Promise<void> {
    const delaySeconds = 2 + Math.floor(Math.random() * 4)
    // singletonKey: if another pull of the source is already queued, that one will do the work
    const data = { ...job.data, deferrals: (job.data.deferrals ?? 0) + 1 }
    await this.deps.boss.send(job.name, data, { singletonKey: job.data.sourceId, startAfter: delaySeconds, priority: job.priority ?? 0 } as SendOptions)
    this.deps.logger.debug({ sourceId: job.data.sourceId, delaySeconds }, 'pull deferred: its organisation has its share of this worker\'s slots')
  }
}

interface FairJob { name: string, priority?: number, data: { sourceId: string, trigger: string, deferrals?: number } }
