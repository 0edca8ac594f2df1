import { AppError } from '../errors.js'

/** Distinct keys one counter tracks at most; past that, new keys are not counted (fail open). */
const MAX_KEYS = 100_000

/**
 * Counts events per key in fixed windows (every counter resets when its window ends). In memory, per
 * API process: the limits are a guard against floods, not a quota, and need no shared state.
 */
export class WindowCounter {
  #counts = new Map<string, number>()
  #windowStart = 0

  constructor (private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  #roll (): number {
    const now = this.now()
    if (now >= this.#windowStart + this.windowMs) {
      this.#counts.clear()
      this.#windowStart = now - (now % this.windowMs)
    }
    return now
  }

  count (key: string): number {
    this.#roll()
    return this.#counts.get(key) ?? 0
  }

  /** Adds one event and returns the key's count in this window. */
  hit (key: string): number {
    this.#roll()
    const n = (this.#counts.get(key) ?? 0) + 1
    if (n > 1 || this.#counts.size < MAX_KEYS) this.#counts.set(key, n)
    return n
  }

  /** Whole seconds until the current window ends (at least 1). */
  retryAfterSeconds (): number {
    const now = this.#roll()
    return Math.max(1, Math.ceil((this.#windowStart + this.windowMs - now) / 1000))
  }
}

export interface InboundLimitOptions {
  /** verified deliveries per source per minute */
  perSourcePerMinute: number
  /** unsigned or badly signed attempts per (source, client address) per minute */
  unverifiedPerMinute: number
  /** deliveries of one source being received at once */
  concurrentPerSource: number
}

/** What a refused concurrent delivery is told: a delivery in progress usually ends within seconds. */
const BUSY_RETRY_AFTER_SECONDS = 5

/**
 * The inbound receiver's rate limits (docs/security.md). A source's own limit counts only
 * deliveries whose signature was verified, so nobody without the signing secret can use it up;
 * failed attempts are counted per source and client address, and only refuse that address's
 * further unverified attempts.
 */
export class InboundLimits {
  readonly #verified = new WindowCounter(60_000)
  readonly #failed = new WindowCounter(60_000)
  readonly #inFlight = new Map<string, number>()

  constructor (private readonly options: InboundLimitOptions) {}

  /** Before anything is read: this address already failed too often for this source. */
  checkUnverified (sourceId: string, address: string): void {
    if (this.#failed.count(`${sourceId} ${address}`) >= this.options.unverifiedPerMinute) {
      const what = `Too many unsigned or badly signed deliveries to this source from ${address}`
      throw limited(what, this.options.unverifiedPerMinute, this.#failed.retryAfterSeconds())
    }
  }

  recordFailure (sourceId: string, address: string): void {
    this.#failed.hit(`${sourceId} ${address}`)
  }

  /** Before the body is read: the source's verified deliveries of this minute are used up. */
  checkVerified (sourceId: string): void {
    if (this.#verified.count(sourceId) >= this.options.perSourcePerMinute) throw this.#overSource()
  }

  /** After the signature matched: counts the delivery, refusing it if concurrent ones got there first. */
  recordVerified (sourceId: string): void {
    if (this.#verified.hit(sourceId) > this.options.perSourcePerMinute) throw this.#overSource()
  }

  /**
   * Takes one of the source's slots for a delivery being received (its body spooled and ingested);
   * call the returned function when the request ends. Slow or stalled senders hold a slot until the
   * body idle or request timeout ends them, so they cannot open more temp files than this.
   */
  enter (sourceId: string): () => void {
    const n = this.#inFlight.get(sourceId) ?? 0
    if (n >= this.options.concurrentPerSource) {
      const max = this.options.concurrentPerSource
      const message = `${n} deliveries to this source are being received already (at most ${max} at once); retry in ${BUSY_RETRY_AFTER_SECONDS} s.`
      throw new AppError('RATE_LIMITED', message, { details: { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS } })
    }
    this.#inFlight.set(sourceId, n + 1)
    let left = false
    return () => {
      if (left) return
      left = true
      const now = (this.#inFlight.get(sourceId) ?? 1) - 1
      if (now > 0) this.#inFlight.set(sourceId, now)
      else this.#inFlight.delete(sourceId)
    }
  }

  #overSource (): AppError {
    return limited('Too many deliveries to this source', this.options.perSourcePerMinute, this.#verified.retryAfterSeconds())
  }
}

function limited (what: string, max: number, retryAfterSeconds: number): AppError {
  return new AppError('RATE_LIMITED', `${what} (at most ${max} a minute); retry in ${retryAfterSeconds} s.`, { details: { retryAfterSeconds } })
}
