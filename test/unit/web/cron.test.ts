import { describe, expect, it } from 'vitest'
import { cronInWords, describeCron } from '../../../web/src/lib/cron.js'

describe('describeCron (web UI)', () => {
  it.each([
    ['0 * * * *', 'UTC', 'every hour at :00, UTC'],
    ['30 6 * * *', 'Europe/Berlin', 'every day at 06:30, Europe/Berlin'],
    ['*/15 * * * *', 'UTC', 'every 15 minutes'],
    ['* * * * *', 'UTC', 'every minute'],
    ['30 6 * * 1-5', undefined, 'weekdays at 06:30'],
    ['30 6 * * MON-FRI', 'UTC', 'weekdays at 06:30, UTC'],
    ['0 9 * * 0,6', 'UTC', 'weekends at 09:00, UTC'],
    ['0 9 * * 1', 'UTC', 'every Monday at 09:00, UTC'],
    ['0 9 * * 7', undefined, 'every Sunday at 09:00'],
    ['0 9 * * 1,3,5', undefined, 'every Monday, Wednesday and Friday at 09:00'],
    ['0,30 * * * *', 'UTC', 'every hour at :00 and :30, UTC'],
    ['5 */6 * * *', 'UTC', 'every 6 hours at :05, UTC'],
    ['30 6,18 * * *', undefined, 'every day at 06:30 and 18:30'],
    ['0 0 1 * *', 'UTC', 'on day 1 of every month at 00:00, UTC'],
    ['0 0 1,15 * *', undefined, 'on days 1 and 15 of every month at 00:00'],
    ['0 0 1 1 *', undefined, 'on 1 January at 00:00'],
    ['0 9-17 * * 1-5', 'UTC', 'every hour from 09:00 to 17:00 on weekdays, UTC'],
    ['*/15 9-17 * * *', 'UTC', 'every 15 minutes from 09:00 to 17:59, UTC'],
    ['*/10 * * * 1-5', 'UTC', 'every 10 minutes on weekdays, UTC'],
    ['@hourly', 'UTC', 'every hour at :00, UTC'],
    ['@daily', undefined, 'every day at 00:00'],
    ['  0 * * * *  ', undefined, 'every hour at :00'],
  ])('%s (%s) → %s', (pattern, tz, expected) => {
    expect(describeCron(pattern, tz)).toBe(expected)
  })

  it.each([
    ['0 0 1-7 * 1', 'UTC', '0 0 1-7 * 1, UTC'],
    ['*/7 * * * *', undefined, '*/7 * * * *'],
    ['0 0 L * *', undefined, '0 0 L * *'],
    ['0 0 * * 1#2', undefined, '0 0 * * 1#2'],
    ['not a cron', 'UTC', 'not a cron, UTC'],
    ['0 0 * *', undefined, '0 0 * *'],
    ['0 0 * * * *', undefined, '0 0 * * * *'],
    ['61 * * * *', undefined, '61 * * * *'],
  ])('falls back to the raw pattern for %s', (pattern, tz, expected) => {
    expect(describeCron(pattern, tz)).toBe(expected)
  })
})

describe('cronInWords', () => {
  it('gives words, or null when only the raw pattern could be echoed', () => {
    expect(cronInWords('0 * * * *', 'UTC')).toBe('every hour at :00, UTC')
    expect(cronInWords('0 * * *')).toBeNull()
    expect(cronInWords('0 0 L * *', 'UTC')).toBeNull()
  })
})
