import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration, formatRelative, syncDuration } from '../../../web/src/lib/format.js'

describe('formatting (web UI)', () => {
  it('sizes', () => {
    expect(formatBytes(null)).toBe('—')
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MiB')
  })

  it('durations', () => {
    expect(formatDuration(null)).toBe('—')
    expect(formatDuration(-1)).toBe('—')
    expect(formatDuration(18)).toBe('18 ms')
    expect(formatDuration(2400)).toBe('2.4 s')
    expect(formatDuration(125_000)).toBe('2 min 5 s')
    expect(formatDuration(3 * 3600_000 + 60_000)).toBe('3 h 1 min')
    expect(syncDuration('2026-01-01T00:00:00Z', null)).toBe('—')
    expect(syncDuration('2026-01-01T00:00:00Z', '2026-01-01T00:00:01.500Z')).toBe('1.5 s')
  })

  it('relative times', () => {
    const now = Date.parse('2026-01-01T12:00:00Z')
    expect(formatRelative('2026-01-01T12:00:10Z', now)).toBe('in under a minute')
    expect(formatRelative('2026-01-01T11:59:50Z', now)).toBe('just now')
    expect(formatRelative('2026-01-01T12:23:00Z', now)).toBe('in 23 min')
    expect(formatRelative('2026-01-01T07:00:00Z', now)).toBe('5 h ago')
    expect(formatRelative('2026-02-03T12:00:00Z', now)).toBe('in 33 d')
    expect(formatRelative('not a date', now)).toBe('')
  })
})
