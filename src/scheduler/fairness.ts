import type PgBoss from 'pg-boss'
import type { Deps } from '../deps.js'
import { orgOfSource, otherOrgsPullsWaiting } from '../db/sql/schedule.js'
import { BOSS_SCHEMA } from '../queue/boss.js'

/**
 * Fair share of one worker process's pull slots across organisations (docs/scaling.md).
 *
 * A process runs `pullConcurrency` pulls at once (that many pg-boss work loops). Without more, an
 * organisation with many sources on a slow or throttled bucket would fill every slot and the
 * others' pulls would wait behind it. So, per process, an organisation may hold at most
 * `pullOrgConcurrency` slots *while another organisation's pull is waiting*; a scheduled pull over
 * that share is deferred: re-enqueued a few seconds later (a new job, hence behind the jobs that
 * were already waiting) and its slot goes to the next job. When nobody else waits, the share does
 * not apply (a lone organisation still gets every slot). On-demand pulls are never deferred: a
 * person is waiting for them.
 */
export class PullFairShare {
  readonly #running = new Map<string, number>()

  constructor (private readonly deps: Pick<Deps, 'db' | 'boss' | 'config' | 'logger'>) {}

  /** pulls of this organisation running in this process now */
  running (orgId: string): number {
    return this.#running.get(orgId) ?? 0
  }

  /**
   * Runs `pull` within the organisation's share, or defers the job (answers 'deferred').
   * The org is looked up from the source; an unknown source runs (and fails) as usual.
   */
  async run<T> (job: { name: string, data: { sourceId: string, trigger: string } }, pull: () => Promise<T>): Promise<{ deferred: true } | { deferred: false, result: T }> {
    const orgId = await orgOfSource(this.deps.db, job.data.sourceId) ?? ''
    if (this.running(orgId) >= this.deps.config.pullOrgConcurrency && job.data.trigger === 'schedule' &&
        await otherOrgsPullsWaiting(this.deps.db, BOSS_SCHEMA, job.name, orgId)) {
      await this.#defer(job)
      return { deferred: true }
    }
    this.#running.set(orgId, this.running(orgId) + 1)
    try {
      return { deferred: false, result: await pull() }
    } finally {
      const left = this.running(orgId) - 1
      if (left > 0) this.#running.set(orgId, left)
      else this.#running.delete(orgId)
    }
  }

  async #defer (job: { name: string, data: { sourceId: string, trigger: string } }): Promise<void> {
    const delaySeconds = 2 + Math.floor(Math.random() * 4)
    // singletonKey: if another pull of the source is already queued, that one will do the work
    await this.deps.boss.send(job.name, job.data, { singletonKey: job.data.sourceId, startAfter: delaySeconds } as PgBoss.SendOptions)
    this.deps.logger.debug({ sourceId: job.data.sourceId, delaySeconds }, 'pull deferred: its organisation has its share of this worker')
  }
}
