import { describe, expect, it } from 'vitest'
import { cronInWords, describeCron } from '../../../web/src/lib/cron.js'

// the words are cronstrue's; these check what Ferry adds: the timezone, the five-field rule, the fallback
describe('describeCron (web UI)', () => {
  it.each([
    ['0 * * * *', 'UTC', 'Every hour, UTC'],
    ['30 6 * * 1-5', 'Europe/Berlin', 'At 06:30, Monday through Friday, Europe/Berlin'],
    ['*/15 * * * *', undefined, 'Every 15 minutes'],
    ['@daily', undefined, 'At 00:00'],
    ['  0 * * * *  ', undefined, 'Every hour'],
  ])('%s (%s) → %s', (pattern, tz, expected) => {
    expect(describeCron(pattern, tz)).toBe(expected)
  })

  it.each([
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
    expect(cronInWords('0 * * * *', 'UTC')).toBe('Every hour, UTC')
    expect(cronInWords('0 * * *')).toBeNull()
    expect(cronInWords('0 0 * * * *', 'UTC')).toBeNull()
  })
})
