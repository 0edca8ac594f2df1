import type { DeliveryState } from '../db/sql/deliveries.js'
import { AppError, isAppError } from '../errors.js'

/**
 * The delivery state machine of one push (one job's results to one sink), as pure functions:
 *
 *   pending ──claim──▶ delivering ──▶ delivered                      (2xx / object stored)
 *                         │  ▲    ├──▶ retrying(nextAttemptAt) ──due──┘ (network error, 408, 429, 5xx, S3 5xx)
 *                         │  │    ├──▶ failed                          (3xx, other 4xx, too large, refused target,
 *                         │  │    │                                     or retries exhausted)
 *                         │  │    └──▶ disabled                        (410 Gone: the sink is switched off)
 *                         └──┘ lease expired (the worker died mid-attempt): taken over, attempt + 1
 *   pending | retrying ──▶ cancelled                                   (an operator cancelled the push)
 *
 * The side effects (claiming, recording, scheduling the retry as a pg-boss job) live in
 * src/push/service.ts; this file only decides.
 */

export type FinalState = Extract<DeliveryState, 'delivered' | 'failed' | 'disabled' | 'cancelled'>

/** What one attempt led to, before any decision. */
export type AttemptOutcome =
  | {
    kind: 'response', status: number, headers: Record<string, string | string[]>, durationMs: number,
    contentType: string | null, contentLength: number | null, bytes: number,
  }
  | { kind: 'stored', key: string, etag: string | null, bytes: number, durationMs: number }
  | { kind: 'error', error: unknown, durationMs: number }

export interface Decision {
  state: Exclude<DeliveryState, 'pending' | 'delivering'>
  /** set when state is `retrying` */
  nextAttemptAt?: Date
  /** the Retry-After the receiver asked for, ms (when it sent one) */
  retryAfterMs?: number
  /** why, in words a person can act on (set unless delivered) */
  reason?: string
  /** the stable code for a failed/disabled delivery (the sync's error.code) */
  code?: AppError['code']
  /** true when the retries ran out (as opposed to a failure that is not retried) */
  exhausted?: boolean
}

/** Longest Retry-After honoured; a receiver asking for more is retried after this. */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000

/** `Retry-After: <seconds>` or `Retry-After: <HTTP date>` → ms from `now` (never negative); undefined if absent or unreadable. */
export function parseRetryAfter (value: string | string[] | undefined, now: Date): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value)?.trim()
  if (!raw) return undefined
  if (/^\d+$/.test(raw)) return Math.min(Number(raw) * 1000, MAX_RETRY_AFTER_MS)
  // an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone would also take "-5" as a year
  const at = /^[A-Za-z]{3},/.test(raw) ? Date.parse(raw) : Number.NaN
  if (Number.isNaN(at)) return undefined
  return Math.min(Math.max(0, at - now.getTime()), MAX_RETRY_AFTER_MS)
}

/** Statuses worth retrying (Standard Webhooks: throttling and server errors). */
export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

/**
 * Errors worth retrying: transient ones (timeouts, unreachable hosts, S3 5xx) and unknown ones (a
 * database hiccup while the body was read). Configuration problems and broken secrets are not.
 */
export const isRetryableError = (err: unknown): boolean => !isAppError(err) || err.failureType === 'transient'

export interface DecideOptions {
  /** the number of the attempt that just ended, 1-based */
  attempt: number
  /** delay before retry k is drawn from [0, schedule[k-1]] (full jitter); its length is the number of retries */
  scheduleMs: readonly number[]
  now: Date
  /** [0, 1); injectable for tests */
  random?: () => number
  /** what the target is, for messages ("https://…", "s3://bucket/key") */
  target: string
}

/** The next state after an attempt. */
export function decide (outcome: AttemptOutcome, options: DecideOptions): Decision {
  const { attempt, scheduleMs, now, target } = options
  const retry = (reason: string, code: AppError['code'], retryAfterMs?: number): Decision => {
    if (attempt > scheduleMs.length) {
      return {
        state: 'failed',
        code,
        exhausted: true,
        reason: `${reason} Gave up after ${attempt} attempt${attempt === 1 ? '' : 's'}.`,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      }
    }
    const jittered = Math.floor((options.random ?? Math.random)() * scheduleMs[attempt - 1])
    const delay = Math.max(jittered, retryAfterMs ?? 0)
    return { state: 'retrying', nextAttemptAt: new Date(now.getTime() + delay), reason, code, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }
  }

  if (outcome.kind === 'stored') return { state: 'delivered' }
  if (outcome.kind === 'error') {
    const err = outcome.error
    const message = isAppError(err) && err.failureType !== 'system' ? err.message : 'The push failed because of an internal error.'
    const code: AppError['code'] = isAppError(err) ? err.code : 'DELIVERY_FAILED'
    return isRetryableError(err) ? retry(message, code) : { state: 'failed', code, reason: message }
  }
  const { status } = outcome
  if (status >= 200 && status < 300) return { state: 'delivered' }
  if (status === 410) {
    return {
      state: 'disabled',
      code: 'DELIVERY_FAILED',
      reason: `${target} answered 410 Gone: the sink was disabled and auto-push switched off. Enable it again once the receiver accepts deliveries.`,
    }
  }
  if (status >= 300 && status < 400) {
    return {
      state: 'failed',
      code: 'DELIVERY_FAILED',
      reason: `${target} answered ${status}, a redirect; Ferry does not follow redirects: configure the final URL.`,
    }
  }
  if (isRetryableStatus(status)) {
    return retry(`${target} answered ${status}.`, 'DELIVERY_FAILED', parseRetryAfter(outcome.headers['retry-after'], now))
  }
  return {
    state: 'failed',
    code: 'DELIVERY_FAILED',
    reason: `${target} answered ${status}; a ${status} is not retried: fix the receiver or the sink, then push again.`,
  }
}

/** Total attempts a delivery may make: the first one and one per schedule entry. */
export const maxAttempts = (scheduleMs: readonly number[]): number => scheduleMs.length + 1

export const isFinal = (state: DeliveryState): state is FinalState =>
  state === 'delivered' || state === 'failed' || state === 'disabled' || state === 'cancelled'

/** Raised inside an attempt when the worker learns another one took the delivery over. */
export class LeaseLostError extends AppError {
  constructor () { super('LEASE_LOST', 'Another worker took over this delivery.') }
}
