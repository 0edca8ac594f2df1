import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A fault-injecting HTTP proxy for S3-compatible stores (s3rver in tests). Point a source's
 * `endpoint` at `proxy.endpoint` (path-style): requests are forwarded to the target unchanged
 * (the Host header too: s3rver does not check signatures), except those matching a planned fault:
 *
 * - `status`:   an S3-style XML error answer (500 InternalError unless told otherwise)
 * - `slowDown`: 503 SlowDown, S3's throttling answer
 * - `reset`:    the connection is reset without an answer
 * - `stall`:    the real answer's headers and first `afterBytes` body bytes, then silence with the
 *               socket open (until the client gives up or the proxy closes)
 * - `truncate`: the real headers (with the full Content-Length) and `afterBytes` bytes, then the
 *               connection is closed
 * - `hold`:     the request waits until `release()` of the rule is called, then is forwarded
 *
 * Each rule applies to the next `times` matching requests (default 1), in the order planned.
 */

export type FaultAction =
  | { kind: 'status', status?: number, code?: string, message?: string }
  | { kind: 'slowDown' }
  | { kind: 'reset' }
  | { kind: 'stall', afterBytes: number }
  | { kind: 'truncate', afterBytes: number }
  | { kind: 'hold' }

export interface ProxiedRequest {
  method: string
  /** decoded path, e.g. /bucket/daily/a.csv */
  path: string
  query: URLSearchParams
}

export interface FaultRule {
  readonly action: FaultAction
  /** matching requests this rule has answered so far */
  readonly hits: number
  /** resolves once the rule has taken effect `n` times (for stall: once the bytes were sent) */
  reached(n?: number): Promise<void>
  /** `hold` rules: lets the held requests (and later ones) through */
  release(): void
}

export interface LoggedRequest extends ProxiedRequest { fault: FaultAction['kind'] | null }

export interface FaultProxy {
  /** http://127.0.0.1:<port> */
  endpoint: string
  port: number
  plan(match: (req: ProxiedRequest) => boolean, action: FaultAction, times?: number): FaultRule
  /** forgets the rules not used up yet */
  clear(): void
  /** every request seen, in order */
  readonly requests: LoggedRequest[]
  close(): Promise<void>
}

/** Matchers for S3 path-style requests. */
export const s3 = {
  getObject: (bucket: string, key: string) => (r: ProxiedRequest) =>
    r.method === 'GET' && r.path === `/${bucket}/${key}` && !r.query.has('list-type'),
  listObjects: (bucket: string) => (r: ProxiedRequest) =>
    r.method === 'GET' && (r.path === `/${bucket}` || r.path === `/${bucket}/`) && r.query.has('list-type'),
  anyGetObject: (bucket: string) => (r: ProxiedRequest) =>
    r.method === 'GET' && r.path.startsWith(`/${bucket}/`) && r.path.length > bucket.length + 2 && !r.query.has('list-type'),
}

class Rule implements FaultRule {
  hits = 0
  remaining: number
  #released = false
  #holds: Array<() => void> = []
  #waiters: Array<{ n: number, resolve: () => void }> = []

  constructor (readonly match: (req: ProxiedRequest) => boolean, readonly action: FaultAction, times: number) {
    this.remaining = times
  }

  took (): void {
    this.hits++
    for (const w of this.#waiters.filter(w => this.hits >= w.n)) w.resolve()
    this.#waiters = this.#waiters.filter(w => this.hits < w.n)
  }

  reached (n = 1): Promise<void> {
    if (this.hits >= n) return Promise.resolve()
    return new Promise(resolve => this.#waiters.push({ n, resolve }))
  }

  hold (): Promise<void> {
    if (this.#released) return Promise.resolve()
    return new Promise(resolve => this.#holds.push(resolve))
  }

  release (): void {
    this.#released = true
    for (const resolve of this.#holds.splice(0)) resolve()
  }
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer'])

function s3Error (res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FAULTPROXY</RequestId></Error>`
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), ...(status === 503 ? { 'retry-after': '0' } : {}) })
  res.end(body)
}

export async function startFaultProxy (target: string): Promise<FaultProxy> {
  const upstream = new URL(target)
  const rules: Rule[] = []
  const requests: LoggedRequest[] = []
  const sockets = new Set<Socket>()
  const upstreamRequests = new Set<http.ClientRequest>()
  let closed = false

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy')
    let decodedPath = url.pathname
    try { decodedPath = decodeURIComponent(url.pathname) } catch {}
    const seen: ProxiedRequest = { method: req.method ?? 'GET', path: decodedPath, query: url.searchParams }
    const rule = rules.find(r => r.remaining > 0 && r.match(seen))
    if (rule) rule.remaining--
    requests.push({ ...seen, fault: rule?.action.kind ?? null })
    void handle(req, res, rule)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle (req: http.IncomingMessage, res: http.ServerResponse, rule: Rule | undefined): Promise<void> {
    const action = rule?.action
    if (action?.kind === 'status') {
      rule!.took()
      return s3Error(res, action.status ?? 500, action.code ?? 'InternalError', action.message ?? 'We encountered an internal error. Please try again.')
    }
    if (action?.kind === 'slowDown') {
      rule!.took()
      return s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.')
    }
    if (action?.kind === 'reset') {
      rule!.took()
      req.socket.resetAndDestroy()
      return
    }
    if (action?.kind === 'hold') {
      rule!.took()
      await rule!.hold()
      if (closed) {
        req.socket.destroy()
        return
      }
    }
    forward(req, res, rule)
  }

  function forward (req: http.IncomingMessage, res: http.ServerResponse, rule: Rule | undefined): void {
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !HOP_BY_HOP.has(k)))
    const out = http.request({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: false,
    }, (up) => {
      const action = rule?.action
      const responseHeaders = Object.fromEntries(Object.entries(up.headers).filter(([k]) => !HOP_BY_HOP.has(k)))
      res.writeHead(up.statusCode ?? 502, responseHeaders)
      if (action?.kind !== 'stall' && action?.kind !== 'truncate') {
        up.pipe(res)
        return
      }
      // pass `afterBytes` bytes, then go silent (stall) or hang up (truncate)
      let sent = 0
      up.on('data', (chunk: Buffer) => {
        if (sent >= action.afterBytes) return
        const part = chunk.subarray(0, action.afterBytes - sent)
        sent += part.length
        if (sent < action.afterBytes) {
          res.write(part)
          return
        }
        up.destroy()
        // once the bytes are on the wire (destroying earlier would discard them, headers included)
        res.write(part, () => {
          if (action.kind === 'truncate') res.socket?.destroy()
          rule!.took()
        })
      })
      up.on('end', () => {
        // the whole object was shorter than afterBytes: the fault still happens, at its end
        if (sent < action.afterBytes) {
          res.write('', () => {
            if (action.kind === 'truncate') res.socket?.destroy()
            rule!.took()
          })
        }
      })
    })
    upstreamRequests.add(out)
    out.on('close', () => upstreamRequests.delete(out))
    out.on('error', () => { if (!res.headersSent) s3Error(res, 502, 'BadGateway', 'The proxy could not reach the store.'); else res.destroy() })
    req.pipe(out)
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    plan (match, action, times = 1) {
      const rule = new Rule(match, action, times)
      rules.push(rule)
      return rule
    },
    clear () {
      for (const r of rules) { r.remaining = 0; r.release() }
      rules.length = 0
    },
    requests,
    async close () {
      closed = true
      for (const r of rules) r.release()
      for (const r of upstreamRequests) r.destroy()
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
