import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processTempDir } from '../../src/inbound/spool.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { createInboundSource, signedHeaders, type InboundSource as Source } from '../helpers/inbound.js'

// issue #14 case 8: slow clients are cut off by header and request timeouts, a source takes a
// bounded number of concurrent deliveries, and temp files live under $FERRY_DATA_DIR/tmp and go away.

let t: TestApp
let port: number
let agentId: string

beforeAll(async () => {
  t = await createTestApp({
    env: {
      FERRY_HTTP_HEADERS_TIMEOUT_MS: '1000',
      FERRY_HTTP_REQUEST_TIMEOUT_MS: '2000',
      // longer than the request timeout: a byte now and then keeps the idle timer happy, not the request timer
      FERRY_INBOUND_BODY_IDLE_TIMEOUT_MS: '20000',
      FERRY_INBOUND_MAX_CONCURRENT_PER_SOURCE: '2',
    },
  })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  port = (t.app.server.address() as net.AddressInfo).port
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'slow' } })).json().id
})
afterAll(async () => {
  await t?.close()
})

const createInbound = (name: string): Promise<Source> => createInboundSource(t, agentId, name)

/** A raw client socket that records what it got back and whether the server closed it. */
interface SlowClient { socket: net.Socket, received: () => string, closed: () => boolean, trickle: (bytes: string, everyMs: number) => void, stop: () => void }

async function connect (): Promise<SlowClient> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  let received = ''
  let closed = false
  let timer: NodeJS.Timeout | undefined
  socket.on('data', (d) => { received += d.toString() })
  socket.on('error', () => {})
  socket.on('close', () => { closed = true; clearInterval(timer) })
  return {
    socket,
    received: () => received,
    closed: () => closed,
    trickle (bytes, everyMs) {
      let i = 0
      timer = setInterval(() => { if (!closed && !socket.destroyed) socket.write(bytes[i++ % bytes.length]) }, everyMs)
    },
    stop () { clearInterval(timer); socket.destroy() },
  }
}

const head = (source: Source, body: Buffer) => [
  `POST /api/v1/inbound/${source.id} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${body.length}`,
  ...Object.entries(signedHeaders(source, body)).map(([k, v]) => `${k}: ${v}`), '', '',
].join('\r\n')

const spoolFiles = async () => (await fs.readdir(processTempDir(t.dataDir)).catch(() => [])).filter(n => n.startsWith('ferry-spool-'))

describe('slow clients', () => {
  it('closes a connection whose headers trickle in', async () => {
    const clients = await Promise.all([connect(), connect(), connect()])
    for (const c of clients) {
      c.socket.write('POST /api/v1/inbound/x HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      c.trickle('X-Slow: a\r\n', 200)
    }
    try {
      for (const c of clients) await expect.poll(() => c.closed(), { timeout: 15_000 }).toBe(true)
      for (const c of clients) expect(c.received()).toMatch(/^HTTP\/1\.1 408/)
    } finally {
      for (const c of clients) c.stop()
    }
  })

  it('cuts off bodies that trickle in, and leaves no temp file', async () => {
    const source = await createInbound('trickled')
    const body = Buffer.from('sku\n' + 'T1\n'.repeat(200))
    const clients = await Promise.all([connect(), connect()])
    for (const c of clients) {
      c.socket.write(head(source, body))
      c.trickle('T', 100)
    }
    try {
      // while they send, their bodies are being spooled, under the data directory
      await expect.poll(spoolFiles, { timeout: 10_000 }).toHaveLength(2)
      for (const c of clients) await expect.poll(() => c.closed(), { timeout: 15_000 }).toBe(true)
      await expect.poll(spoolFiles, { timeout: 5_000 }).toEqual([])
      const { rows } = await t.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM syncs WHERE source_id = $1', [source.id])
      expect(rows[0].n).toBe(0)
    } finally {
      for (const c of clients) c.stop()
    }
    // the source still takes a delivery that arrives at a normal pace
    const ok = await t.app.inject({ method: 'POST', url: `/api/v1/inbound/${source.id}`, headers: signedHeaders(source, body), payload: body })
    expect(ok.statusCode, ok.body).toBe(200)
  })

  it('takes a bounded number of deliveries of one source at once (429 with Retry-After past it)', async () => {
    const busy = await createInbound('busy')
    const other = await createInbound('other')
    const body = Buffer.from('sku\nB1\n')
    const clients = await Promise.all([connect(), connect()])
    try {
      for (const c of clients) c.socket.write(head(busy, body) + 's') // the body's first byte, the rest held back
      await expect.poll(spoolFiles, { timeout: 10_000 }).toHaveLength(2)
      const refused = await t.app.inject({ method: 'POST', url: `/api/v1/inbound/${busy.id}`, headers: signedHeaders(busy, body), payload: body })
      expect(refused.statusCode, refused.body).toBe(429)
      expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } })
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0)
      // another source is not affected
      const elsewhere = await t.app.inject({ method: 'POST', url: `/api/v1/inbound/${other.id}`, headers: signedHeaders(other, body), payload: body })
      expect(elsewhere.statusCode, elsewhere.body).toBe(200)
    } finally {
      for (const c of clients) c.stop()
    }
    // the slots are given back when those requests end
    await expect.poll(spoolFiles, { timeout: 5_000 }).toEqual([])
    const after = await t.app.inject({ method: 'POST', url: `/api/v1/inbound/${busy.id}`, headers: signedHeaders(busy, body), payload: body })
    expect(after.statusCode, after.body).toBe(200)
  })
})

describe('temp files of a killed process', () => {
  it('are removed at the next start on the same host', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-sweep-start-'))
    // a process with our own pid (an earlier life of it) left a spool file, as kill -9 does
    const left = path.join(dataDir, 'tmp', `${process.pid}@${os.hostname()}`)
    await fs.mkdir(left, { recursive: true })
    await fs.writeFile(path.join(left, 'ferry-spool-left-behind'), 'x')
    const again = await createTestApp({ env: { FERRY_DATA_DIR: dataDir } })
    try {
      await expect(fs.stat(left)).rejects.toThrow(/ENOENT/)
    } finally {
      await again.close()
      await fs.rm(dataDir, { recursive: true, force: true })
    }
  })
})
