/**
 * Random S3 faults at a set rate, for the chaos suite: a dice layer on the planned-fault proxy of
 * test/helpers/fault-proxy.ts (written with the S3 sources; the two converged on that one proxy).
 * Each request, listings and object GETs alike, fails with probability `rate`, with one of
 *
 * - `error500`    500 InternalError (S3's XML error body)
 * - `slowdown503` 503 SlowDown (S3's throttling answer)
 * - `reset`       the connection is reset without an answer
 * - `stall`       the real headers and the first 16 B / 1 KiB / 64 KiB of the body, then silence
 *                 with the socket open — the client's idle timeout has to notice
 * - `truncate`    the real headers (with the full Content-Length) and the first 16 B / 1 KiB /
 *                 64 KiB of the body, then the connection is closed
 *
 * Deterministic for a seed; counts every fault it injects.
 */
import { startFaultProxy, type FaultAction, type FaultProxy as PlannedProxy, type ProxiedRequest } from '../../test/helpers/fault-proxy.js'

export const FAULTS = ['error500', 'slowdown503', 'reset', 'stall', 'truncate'] as const
export type Fault = typeof FAULTS[number]

const CUTS = [16, 1024, 64 * 1024]
const ACTIONS: Record<Fault, FaultAction[]> = {
  error500: [{ kind: 'status' }],
  slowdown503: [{ kind: 'slowDown' }],
  reset: [{ kind: 'reset' }],
  stall: CUTS.map(afterBytes => ({ kind: 'stall', afterBytes })),
  truncate: CUTS.map(afterBytes => ({ kind: 'truncate', afterBytes })),
}

export interface FaultProxyOptions {
  /** http://host:port of the real server */
  target: string
  /** share of requests that get a fault, 0…1 */
  rate: number
  faults?: readonly Fault[]
  seed?: number
}

export type FaultCounts = Record<Fault | 'passed', number>

/** mulberry32: small, seedable, good enough for dice */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class FaultProxy {
  readonly counts: FaultCounts = { error500: 0, slowdown503: 0, reset: 0, stall: 0, truncate: 0, passed: 0 }
  rate: number
  readonly #random: () => number
  readonly #faults: readonly Fault[]
  /** one decision per request, shared by the rules the planned proxy asks in turn */
  readonly #decisions = new WeakMap<ProxiedRequest, { fault: Fault, variant: number } | null>()
  #proxy?: PlannedProxy
  url = ''

  constructor (private readonly options: FaultProxyOptions) {
    this.rate = options.rate
    this.#random = rng(options.seed ?? 1)
    this.#faults = options.faults ?? FAULTS
  }

  #decide (req: ProxiedRequest): { fault: Fault, variant: number } | null {
    if (this.#decisions.has(req)) return this.#decisions.get(req)!
    let decision: { fault: Fault, variant: number } | null = null
    if (this.#random() < this.rate) {
      const fault = this.#faults[Math.floor(this.#random() * this.#faults.length)]
      decision = { fault, variant: Math.floor(this.#random() * ACTIONS[fault].length) }
      this.counts[fault]++
    } else {
      this.counts.passed++
    }
    this.#decisions.set(req, decision)
    return decision
  }

  async listen (): Promise<this> {
    this.#proxy = await startFaultProxy(this.options.target)
    for (const fault of this.#faults) {
      ACTIONS[fault].forEach((action, variant) => {
        this.#proxy!.plan((req) => {
          const d = this.#decide(req)
          return d !== null && d.fault === fault && d.variant === variant
        }, action, Number.POSITIVE_INFINITY)
      })
    }
    this.url = this.#proxy.endpoint
    return this
  }

  get injected (): number {
    return FAULTS.reduce((n, f) => n + this.counts[f], 0)
  }

  async close (): Promise<void> {
    await this.#proxy?.close()
  }
}
