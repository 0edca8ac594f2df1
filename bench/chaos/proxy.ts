/**
 * A fault-injecting HTTP proxy for S3-compatible servers (s3rver in the chaos suite): every request
 * is forwarded to `target` unless the dice say otherwise, in which case it gets one of
 *
 * - `error500`    500 InternalError (S3's XML error body)
 * - `slowdown503` 503 SlowDown (S3's throttling answer)
 * - `reset`       the connection is destroyed before any answer
 * - `stall`       the answer's headers and the first part of its body are sent, then nothing more
 *                 (socket left open) — the client's idle timeout has to notice
 * - `truncate`    the answer's headers (with the full Content-Length) and part of its body are
 *                 sent, then the connection is closed — a body cut short
 *
 * Deterministic for a seed; counts every fault it injects. (test/helpers/fault-proxy.ts may grow
 * into the same thing from the S3-sources side; the two are meant to converge.)
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export const FAULTS = ['error500', 'slowdown503', 'reset', 'stall', 'truncate'] as const
export type Fault = typeof FAULTS[number]

export interface FaultProxyOptions {
  /** http://host:port of the real server */
  target: string
  /** share of requests that get a fault, 0…1 */
  rate: number
  faults?: readonly Fault[]
  seed?: number
  /** a stalled connection is destroyed after this long, so nothing leaks (default 60 s) */
  stallMs?: number
  /** requests this returns false for always pass */
  applies?: (req: http.IncomingMessage) => boolean
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

const s3Error = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>chaos</RequestId></Error>`

export class FaultProxy {
  readonly counts: FaultCounts = { error500: 0, slowdown503: 0, reset: 0, stall: 0, truncate: 0, passed: 0 }
  #rate: number
  readonly #random: () => number
  readonly #faults: readonly Fault[]
  readonly #server: http.Server
  readonly #sockets = new Set<Socket>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  url = ''

  constructor (private readonly options: FaultProxyOptions) {
    this.#rate = options.rate
    this.#random = rng(options.seed ?? 1)
    this.#faults = options.faults ?? FAULTS
    this.#server = http.createServer((req, res) => this.#handle(req, res))
    this.#server.on('connection', (s) => { this.#sockets.add(s); s.on('close', () => this.#sockets.delete(s)) })
  }

  async listen (): Promise<this> {
    await new Promise<void>(resolve => this.#server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
    return this
  }

  set rate (rate: number) { this.#rate = rate }
  get rate (): number { return this.#rate }

  get injected (): number {
    return FAULTS.reduce((n, f) => n + this.counts[f], 0)
  }

  #pick (req: http.IncomingMessage): Fault | null {
    if (this.options.applies && !this.options.applies(req)) return null
    if (this.#random() >= this.#rate) return null
    return this.#faults[Math.floor(this.#random() * this.#faults.length)]
  }

  #later (fn: () => void, ms: number): void {
    const t = setTimeout(() => { this.#timers.delete(t); fn() }, ms)
    this.#timers.add(t)
  }

  #handle (req: http.IncomingMessage, res: http.ServerResponse): void {
    const fault = this.#pick(req)
    if (fault === 'error500' || fault === 'slowdown503') {
      this.counts[fault]++
      req.resume()
      req.on('end', () => {
        const body = fault === 'error500' ? s3Error('InternalError', 'We encountered an internal error. Please try again.') : s3Error('SlowDown', 'Please reduce your request rate.')
        res.writeHead(fault === 'error500' ? 500 : 503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) })
        res.end(body)
      })
      return
    }
    if (fault === 'reset') {
      this.counts.reset++
      req.socket.destroy()
      return
    }
    const target = new URL(this.options.target)
    const upstream = http.request({
      host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: this.#agent,
    }, (up) => {
      const length = Number(up.headers['content-length'] ?? 0)
      if (fault === null || length === 0) {
        this.counts.passed++
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
        return
      }
      // stall / truncate: the real headers, then part of the body
      this.counts[fault]++
      res.writeHead(up.statusCode ?? 502, up.headers)
      const keep = Math.max(1, Math.floor(length * (0.2 + 0.6 * this.#random())))
      let sent = 0
      let cut = false
      up.on('data', (chunk: Buffer) => {
        if (cut) return
        const room = keep - sent
        if (chunk.length < room) {
          res.write(chunk)
          sent += chunk.length
          return
        }
        res.write(chunk.subarray(0, room))
        sent = keep
        cut = true
        up.destroy()
        if (fault === 'truncate') {
          // let the partial body leave, then drop the connection
          res.socket?.end()
          this.#later(() => res.socket?.destroy(), 50)
        } else {
          this.#later(() => res.socket?.destroy(), this.options.stallMs ?? 60_000)
        }
      })
      up.on('end', () => { if (!cut) res.end() })
    })
    upstream.on('error', () => { res.socket?.destroy() })
    req.pipe(upstream)
  }

  async close (): Promise<void> {
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    for (const s of this.#sockets) s.destroy()
    this.#agent.destroy()
    await new Promise<void>(resolve => this.#server.close(() => resolve()))
  }
}
