import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/**
 * A real local HTTP receiver for outbound webhooks: records every request (method, path, headers,
 * raw body) and answers POSTs from a script, one step per request; after the script, `fallback`.
 * OPTIONS (the save-time validation ping) always answers 204 and is recorded too.
 */
export interface ReceiverStep {
  status?: number
  headers?: Record<string, string>
  body?: string
  /** wait this long before answering */
  delayMs?: number
  /** never answer (the connection stays open until the client gives up or the receiver closes) */
  hang?: boolean
  /** answer with the request's own headers as a JSON body (to test what reaches the tenant) */
  echoHeaders?: boolean
}

export interface ReceivedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: Buffer
  at: number
}

export interface Receiver {
  url: string
  port: number
  requests: ReceivedRequest[]
  /** the POSTs only */
  posts(): ReceivedRequest[]
  /** replaces the script (steps are consumed by POSTs in order) */
  script(steps: ReceiverStep[], fallback?: ReceiverStep): void
  /** resolves once `n` POSTs arrived */
  waitForPosts(n: number, timeoutMs?: number): Promise<ReceivedRequest[]>
  close(): Promise<void>
}

export async function startReceiver (steps: ReceiverStep[] = [], fallback: ReceiverStep = { status: 200 }): Promise<Receiver> {
  let script = [...steps]
  let otherwise = fallback
  const requests: ReceivedRequest[] = []
  const sockets = new Set<Socket>()
  const waiters: Array<() => void> = []

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const record: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() }
      requests.push(record)
      for (const w of waiters.splice(0)) w()
      if (req.method !== 'POST') {
        res.writeHead(204).end()
        return
      }
      const step = script.shift() ?? otherwise
      if (step.hang) return
      const answer = () => {
        const body = step.echoHeaders ? JSON.stringify(req.headers) : step.body ?? ''
        res.writeHead(step.status ?? 200, { 'content-type': 'text/plain', ...step.headers })
        res.end(body)
      }
      if (step.delayMs) setTimeout(answer, step.delayMs)
      else answer()
    })
  })
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const posts = () => requests.filter(r => r.method === 'POST')

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    posts,
    script (next, nextFallback) {
      script = [...next]
      if (nextFallback) otherwise = nextFallback
    },
    async waitForPosts (n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      while (posts().length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} POSTs, got ${posts().length} within ${timeoutMs} ms`)
        await new Promise<void>(resolve => {
          const timer = setTimeout(resolve, 100)
          waiters.push(() => { clearTimeout(timer); resolve() })
        })
      }
      return posts()
    },
    async close () {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
