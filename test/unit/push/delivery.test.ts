import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import { decide, maxAttempts, parseRetryAfter, type AttemptOutcome } from '../../../src/push/delivery.js'
import { resultKey } from '../../../src/kinds/result-key.js'
import { webhookIdFor } from '../../../src/push/targets.js'

const now = new Date('2026-03-01T12:00:00Z')
const schedule = [5_000, 300_000, 1_800_000]
const response = (status: number, headers: Record<string, string> = {}): AttemptOutcome =>
  ({ kind: 'response', status, headers, durationMs: 10, contentType: null, contentLength: null, bytes: 100 })
const error = (err: unknown): AttemptOutcome => ({ kind: 'error', error: err, durationMs: 10 })
const at = (attempt: number, random = () => 0.5) => ({ attempt, scheduleMs: schedule, now, random, target: 'https://example.com/hook' })

describe('delivery state machine', () => {
  it('delivers on 2xx and on a stored object', () => {
    for (const status of [200, 201, 202, 204, 299]) expect(decide(response(status), at(1)).state).toBe('delivered')
    expect(decide({ kind: 'stored', key: 'k', etag: '"e"', bytes: 1, durationMs: 1 }, at(1))).toEqual({ state: 'delivered' })
  })

  it('retries network errors, 408, 429 and 5xx with full jitter on the schedule', () => {
    for (const outcome of [response(408), response(429), response(500), response(502), response(503), response(599),
      error(new AppError('TARGET_TIMEOUT')), error(new AppError('TARGET_UNREACHABLE')), error(new AppError('S3_ERROR')),
      error(new Error('connection reset'))]) {
      const d = decide(outcome, at(2, () => 0.5))
      expect(d.state).toBe('retrying')
      // retry 2 waits a uniform share of schedule[1]
      expect(d.nextAttemptAt!.getTime() - now.getTime()).toBe(150_000)
    }
    expect(decide(response(500), at(1, () => 0)).nextAttemptAt).toEqual(now)
    expect(decide(response(500), at(1, () => 0.999)).nextAttemptAt!.getTime() - now.getTime()).toBeLessThanOrEqual(5_000)
  })

  it('gives up after the last scheduled retry', () => {
    expect(maxAttempts(schedule)).toBe(4)
    const last = decide(response(503), at(4))
    expect(last).toMatchObject({ state: 'failed', exhausted: true, code: 'DELIVERY_FAILED' })
    expect(last.reason).toMatch(/503.*Gave up after 4 attempts/)
    expect(decide(error(new AppError('TARGET_TIMEOUT', 'x did not answer.')), at(4)))
      .toMatchObject({ state: 'failed', code: 'TARGET_TIMEOUT', exhausted: true })
  })

  it('fails at once on 3xx, other 4xx and errors that retrying cannot fix', () => {
    for (const status of [301, 302, 307, 308]) {
      const d = decide(response(status, { location: 'http://169.254.169.254/' }), at(1))
      expect(d.state).toBe('failed')
      expect(d.exhausted).toBeUndefined()
    }
    expect(decide(response(302), at(1)).reason).toMatch(/redirect/)
    for (const status of [400, 401, 403, 404, 413, 422]) expect(decide(response(status), at(1)).state).toBe('failed')
    for (const code of ['RESULTS_TOO_LARGE', 'TARGET_NOT_ALLOWED', 'S3_CONFIG', 'SECRET_DECRYPT_FAILED', 'NOT_FOUND'] as const) {
      expect(decide(error(new AppError(code)), at(1))).toMatchObject({ state: 'failed', code })
    }
  })

  it('disables on 410 Gone', () => {
    expect(decide(response(410), at(1))).toMatchObject({ state: 'disabled' })
    expect(decide(response(410), at(1)).reason).toMatch(/410 Gone.*disabled/)
  })

  it('honours Retry-After in seconds or as an HTTP date, never sooner than the jittered delay', () => {
    const d = decide(response(429, { 'retry-after': '120' }), at(1, () => 0))
    expect(d).toMatchObject({ state: 'retrying', retryAfterMs: 120_000 })
    expect(d.nextAttemptAt!.getTime() - now.getTime()).toBe(120_000)
    const date = decide(response(503, { 'retry-after': 'Sun, 01 Mar 2026 12:10:00 GMT' }), at(1, () => 0))
    expect(date.nextAttemptAt!.getTime() - now.getTime()).toBe(600_000)
    // a jittered delay longer than Retry-After wins
    expect(decide(response(429, { 'retry-after': '1' }), at(2, () => 1)).nextAttemptAt!.getTime() - now.getTime()).toBe(300_000)
  })

  it('parses Retry-After defensively', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
    expect(parseRetryAfter('', now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-5', now)).toBeUndefined()
    expect(parseRetryAfter('0', now)).toBe(0)
    expect(parseRetryAfter(['7', '9'], now)).toBe(7000)
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0)
    // capped at a day
    expect(parseRetryAfter('99999999', now)).toBe(24 * 3600 * 1000)
  })
})

describe('push targets', () => {
  it('builds the S3 key with exactly one slash after the prefix', () => {
    const id = '0190a8f0-0000-7000-8000-000000000001'
    expect(resultKey('results/', id, 'csv')).toBe(`results/job-${id}.csv`)
    expect(resultKey('results', id, 'json')).toBe(`results/job-${id}.json`)
    expect(resultKey('/a/b//', id, 'xlsx')).toBe(`a/b/job-${id}.xlsx`)
    expect(resultKey('', id, 'ndjson')).toBe(`job-${id}.ndjson`)
    expect(resultKey(undefined, id, 'csv')).toBe(`job-${id}.csv`)
  })

  it('derives a stable webhook-id per (job, sink) that Standard Webhooks accepts (no dots)', () => {
    const a = webhookIdFor('job-1', 'sink-1')
    expect(a).toBe(webhookIdFor('job-1', 'sink-1'))
    expect(a).not.toBe(webhookIdFor('job-1', 'sink-2'))
    expect(a).not.toBe(webhookIdFor('job-2', 'sink-1'))
    expect(a).toMatch(/^msg_[A-Za-z0-9_-]{32}$/)
  })
})
