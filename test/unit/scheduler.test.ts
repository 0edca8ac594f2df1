import { Writable } from 'node:stream'
import type { PgBoss } from 'pg-boss'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { openDb } from '../../src/db/open.js'
import type { Db } from '../../src/db/client.js'
import { migrate } from '../../src/db/migrate.js'
import { computeNextPullAt } from '../../src/sources/next-pull.js'
import { createLogger } from '../../src/log.js'
import { SchedulerLoop } from '../../src/scheduler/scheduler.js'

/**
 * Cron and timezone arithmetic of the scheduler (docs/scaling.md, "The scheduler": `source.scheduleCron ?? agent.scheduleCron`
 * in the agent's timezone). Daylight-saving transitions follow croner's rules; these tests pin them
 * down so a croner upgrade that changes them is noticed:
 *
 * - spring forward (Europe/Berlin, 2025-03-30, 02:00 CET → 03:00 CEST): a run in the missing hour
 *   (02:30) happens once, at the jump (03:00 CEST); an hourly cron has no 02:00 run, so the day
 *   has 23 hourly runs;
 * - fall back (2025-10-26, 03:00 CEST → 02:00 CET): a run at a fixed time in the repeated hour
 *   (02:30) happens once, the first time (02:30 CEST); crons with a wildcard hour run in both
 *   passes (an hourly cron runs 25 times that day).
 */

const source = { role: 'INVENTORY_SOURCE' as const, type: 's3' as const, enabled: true, scheduleCron: null as string | null }
const agent = (scheduleCron: string, timezone = 'Europe/Berlin', autoPull = true) => ({ scheduleCron, timezone, rules: { autoPull } })

/** Runs after the fake "now", one after the other, as the scheduler would compute them tick by tick. */
function runs (cron: string, timezone: string, now: string, n: number): string[] {
  vi.setSystemTime(new Date(now))
  const out: string[] = []
  let after = new Date()
  for (let i = 0; i < n; i++) {
    const next = computeNextPullAt(source, agent(cron, timezone), after)!
    out.push(next.toISOString())
    // the scheduler claims the source when it is due and computes the next run after that moment
    vi.setSystemTime(next)
    after = new Date()
  }
  return out
}

const berlin = (iso: string) =>
  new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', dateStyle: 'short', timeStyle: 'short', hourCycle: 'h23' }).format(new Date(iso)) +
  (new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'short' }).format(new Date(iso)).endsWith('GMT+2') ? ' CEST' : ' CET')

describe('scheduling arithmetic (fake time)', () => {
  afterEach(() => { vi.useRealTimers() })
  const fake = () => vi.useFakeTimers({ toFake: ['Date'] })

  it('follows the agent\'s timezone, the source\'s own cron winning over the agent\'s', () => {
    fake()
    vi.setSystemTime(new Date('2025-06-02T05:59:00Z'))
    expect(computeNextPullAt(source, agent('0 9 * * *', 'Europe/Berlin'), new Date())!.toISOString()).toBe('2025-06-02T07:00:00.000Z')
    expect(computeNextPullAt(source, agent('0 9 * * *', 'America/New_York'), new Date())!.toISOString()).toBe('2025-06-02T13:00:00.000Z')
    expect(computeNextPullAt(source, agent('0 9 * * *', 'UTC'), new Date())!.toISOString()).toBe('2025-06-02T09:00:00.000Z')
    expect(computeNextPullAt({ ...source, scheduleCron: '*/15 * * * *' }, agent('0 9 * * *'), new Date())!.toISOString()).toBe('2025-06-02T06:00:00.000Z')
  })

  it('is strictly after now: a source claimed at its due minute moves to the next one, not the same', () => {
    fake()
    vi.setSystemTime(new Date('2025-06-02T10:00:00.000Z'))
    expect(computeNextPullAt(source, agent('0 * * * *', 'UTC'), new Date())!.toISOString()).toBe('2025-06-02T11:00:00.000Z')
    vi.setSystemTime(new Date('2025-06-02T10:00:00.400Z'))
    expect(computeNextPullAt(source, agent('* * * * *', 'UTC'), new Date())!.toISOString()).toBe('2025-06-02T10:01:00.000Z')
  })

  it('catches up once after downtime: the next run is after NOW, whatever was missed', () => {
    fake()
    // due at 06:00, every worker down until 09:40: one pull now, then the next regular run
    vi.setSystemTime(new Date('2025-06-02T09:40:00Z'))
    expect(computeNextPullAt(source, agent('0 * * * *', 'UTC'), new Date())!.toISOString()).toBe('2025-06-02T10:00:00.000Z')
  })

  it('spring forward in Europe/Berlin: a run in the missing hour happens once, at the jump', () => {
    fake()
    const daily = runs('30 2 * * *', 'Europe/Berlin', '2025-03-28T12:00:00Z', 4)
    expect(daily.map(berlin)).toEqual(['2025-03-29 02:30 CET', '2025-03-30 03:00 CEST', '2025-03-31 02:30 CEST', '2025-04-01 02:30 CEST'])
    const hourly = runs('0 * * * *', 'Europe/Berlin', '2025-03-29T23:30:00Z', 4)
    expect(hourly.map(berlin)).toEqual(['2025-03-30 01:00 CET', '2025-03-30 03:00 CEST', '2025-03-30 04:00 CEST', '2025-03-30 05:00 CEST'])
    // the day has 23 hourly runs
    expect(runs('0 * * * *', 'Europe/Berlin', '2025-03-29T22:59:00Z', 24).filter(r => berlin(r).startsWith('2025-03-30'))).toHaveLength(23)
  })

  it('fall back in Europe/Berlin: a fixed time in the repeated hour runs once; wildcard hours run in both passes', () => {
    fake()
    const daily = runs('30 2 * * *', 'Europe/Berlin', '2025-10-25T12:00:00Z', 3)
    expect(daily.map(berlin)).toEqual(['2025-10-26 02:30 CEST', '2025-10-27 02:30 CET', '2025-10-28 02:30 CET'])
    expect(daily[1]).toBe('2025-10-27T01:30:00.000Z')
    const hourly = runs('0 * * * *', 'Europe/Berlin', '2025-10-25T23:30:00Z', 4)
    expect(hourly.map(berlin)).toEqual(['2025-10-26 02:00 CEST', '2025-10-26 02:00 CET', '2025-10-26 03:00 CET', '2025-10-26 04:00 CET'])
    expect(runs('0 * * * *', 'Europe/Berlin', '2025-10-25T21:59:00Z', 26).filter(r => berlin(r).startsWith('2025-10-26'))).toHaveLength(25)
    // real time between runs stays 30 minutes through the repeated hour
    const halfHourly = runs('*/30 * * * *', 'Europe/Berlin', '2025-10-25T23:50:00Z', 6)
    expect(halfHourly.slice(1).map((r, i) => Date.parse(r) - Date.parse(halfHourly[i]))).toEqual(Array(5).fill(30 * 60_000))
  })

  it('is not scheduled at all unless an enabled S3 inventory source of an agent with autoPull', () => {
    fake()
    vi.setSystemTime(new Date('2025-06-02T10:00:00Z'))
    const now = new Date()
    expect(computeNextPullAt({ ...source, enabled: false }, agent('0 * * * *'), now)).toBeNull()
    expect(computeNextPullAt(source, agent('0 * * * *', 'UTC', false), now)).toBeNull()
    expect(computeNextPullAt({ ...source, role: 'RESULTS_SINK' as never }, agent('0 * * * *'), now)).toBeNull()
    expect(computeNextPullAt({ ...source, type: 'webhook' as never }, agent('0 * * * *'), now)).toBeNull()
  })
})

describe('the scheduler loop', () => {
  let db: Db | undefined
  afterEach(async () => { await db?.close() })

  it('never crashes: a failing tick is logged, backed off and retried until the database answers again', async () => {
    db = await openDb({ memory: true })
    await migrate(db)
    const lines: string[] = []
    const logger = createLogger({ level: 'debug', destination: new Writable({ write (chunk, _enc, cb) { lines.push(chunk.toString()); cb() } }) })
    let failures = 3
    const real = db
    // fault injection at the database seam: the first three transactions fail like a lost connection
    const flaky = {
      ...real,
      transaction: async <T>(fn: Parameters<Db['transaction']>[0]): Promise<T> => {
        if (failures-- > 0) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' })
        return real.transaction(fn) as Promise<T>
      },
    } as Db
    const loop = new SchedulerLoop({ db: flaky, boss: {} as PgBoss, logger }, { intervalMs: 5 })
    loop.start()
    await expect.poll(() => lines.some(l => l.includes('scheduler recovered')), { timeout: 10_000, interval: 10 }).toBe(true)
    await loop.stop()
    const errors = lines.map(l => JSON.parse(l)).filter(l => l.msg === 'scheduler tick failed; backing off')
    expect(errors).toHaveLength(3)
    expect(errors.map(e => e.retryInMs)).toEqual([10, 20, 40])
    expect(errors[0].err.message).toBe('Connection terminated unexpectedly')
    expect(lines.some(l => l.includes('scheduler recovered'))).toBe(true)
    // stopped: no tick runs afterwards
    const count = lines.length
    // a deliberate wait: ten tick intervals in which nothing may be logged
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(lines.length).toBe(count)
  })
})
