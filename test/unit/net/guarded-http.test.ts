import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { request as undiciRequest } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AddressPolicy } from '../../../src/net/address-policy.js'
import { createGuardedDispatcher, guardedRequest, mapNetworkError } from '../../../src/net/guarded-http.js'
import { resolveAllowed, type Resolver } from '../../../src/net/guarded-lookup.js'
import { AppError } from '../../../src/errors.js'

const strict = new AddressPolicy([])
const local = new AddressPolicy(['127.0.0.0/8', '::1/128'])

interface TestServer {
  port: number
  url: string
  requests: string[]
  close (): Promise<void>
}

async function startServer (handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`)
    handler(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

/** fake DNS for names the sandbox cannot resolve */
function fakeResolver (answers: (host: string) => Array<{ address: string, family: 4 | 6 }>): Resolver {
  return async host => {
    const list = answers(host)
    if (list.length === 0) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })
    return list
  }
}

describe('guardedRequest', () => {
  let ok: TestServer
  beforeAll(async () => {
    ok = await startServer((req, res) => {
      res.setHeader('x-test', 'yes')
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      res.end('hello\u0000\u001b[31m world\r\n')
    })
  })
  afterAll(() => ok.close())
  afterEach(() => { ok.requests.length = 0 })

  it('refuses "localhost" at connect time; the local server sees no request', async () => {
    const err = await guardedRequest(`http://localhost:${ok.port}/hook`, { policy: strict, timeoutMs: 2000 }).catch(e => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err.code).toBe('TARGET_NOT_ALLOWED')
    expect(err.message).toMatch(/^"localhost" resolves to a loopback address \((127\.0\.0\.1|::1)\), which is not allowed$/)
    expect(ok.requests).toEqual([])
  })

  it('with the allow-list 127.0.0.0/8 the same request reaches the local server', async () => {
    const res = await guardedRequest(`http://localhost:${ok.port}/hook`, {
      policy: local, method: 'POST', body: '{}', headers: { 'content-type': 'application/json' }, timeoutMs: 2000,
    })
    expect(res.status).toBe(200)
    expect(res.headers['x-test']).toBe('yes')
    // status, type and length of the answer, never its body (docs/security.md)
    expect(res).not.toHaveProperty('bodyExcerpt')
    expect(JSON.stringify(res)).not.toContain('hello')
    expect(res.contentType).toBe('text/plain')
    expect(res.contentLength).toBe(Buffer.byteLength('hello\u0000\u001b[31m world\r\n'))
    expect(res.truncated).toBe(false)
    expect(res.durationMs).toBeGreaterThanOrEqual(0)
    expect(ok.requests).toEqual(['POST /hook'])
  })

  it('allow-list 127.0.0.0/8 alone is enough for 127.0.0.1 literals', async () => {
    const res = await guardedRequest(`${ok.url}/x`, { policy: new AddressPolicy(['127.0.0.0/8']), timeoutMs: 2000 })
    expect(res.status).toBe(200)
  })

  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:a9fe:a9fe]/',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://[64:ff9b::a9fe:a9fe]/',
    'http://[::1]:5432/',
    'http://[::]/',
    'http://0.0.0.0/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[2002:7f00:1::]/',
    'http://[fc00::1]/',
    'http://[fe80::1]/',
    'http://10.0.0.1/',
    'http://172.16.0.1/',
    'http://192.168.0.1/',
    'http://100.64.0.1/',
  ])('refuses %s', async url => {
    await expect(guardedRequest(url, { policy: strict, timeoutMs: 2000 })).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
  })

  it('refuses a name that resolves to a disallowed address (127.0.0.1.nip.io, metadata names)', async () => {
    const resolver = fakeResolver(host => host === 'metadata.google.internal'
      ? [{ address: '169.254.169.254', family: 4 }]
      : host.endsWith('.nip.io') ? [{ address: '127.0.0.1', family: 4 }] : [])
    const dispatcher = createGuardedDispatcher(strict, { resolver })
    try {
      await expect(guardedRequest(`http://127.0.0.1.nip.io:${ok.port}/`, { policy: strict, dispatcher })).rejects.toMatchObject({
        code: 'TARGET_NOT_ALLOWED', message: '"127.0.0.1.nip.io" resolves to a loopback address (127.0.0.1), which is not allowed',
      })
      await expect(guardedRequest('http://metadata.google.internal/computeMetadata/v1/', { policy: strict, dispatcher })).rejects.toMatchObject({
        code: 'TARGET_NOT_ALLOWED', message: '"metadata.google.internal" resolves to a cloud metadata service address (169.254.169.254), which is not allowed',
      })
      expect(ok.requests).toEqual([])
    } finally {
      await dispatcher.close()
    }
  })

  it('DNS rebinding: a name that was public at validation and is loopback at delivery is refused at connect', async () => {
    let calls = 0
    const resolver = fakeResolver(() => (++calls === 1 ? [{ address: '93.184.215.14', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]))
    await expect(resolveAllowed('rebind.example', strict, { resolver })).resolves.toHaveLength(1) // save-time check passes
    const dispatcher = createGuardedDispatcher(strict, { resolver })
    try {
      await expect(guardedRequest(`http://rebind.example:${ok.port}/`, { policy: strict, dispatcher })).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
      expect(ok.requests).toEqual([])
    } finally {
      await dispatcher.close()
    }
  })

  it('the dispatcher itself checks IP-literal hosts (net.connect never calls lookup for them)', async () => {
    const dispatcher = createGuardedDispatcher(strict)
    try {
      await expect(undiciRequest(`${ok.url}/direct`, { dispatcher })).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
      await expect(undiciRequest(`http://[::ffff:127.0.0.1]:${ok.port}/direct`, { dispatcher })).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
      expect(ok.requests).toEqual([])
    } finally {
      await dispatcher.close()
    }
  })

  it('only allows http and https', async () => {
    for (const url of ['ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'data:text/plain,hi']) {
      await expect(guardedRequest(url, { policy: strict })).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED', details: { reason: 'scheme' } })
    }
    await expect(guardedRequest('not a url', { policy: strict })).rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED', details: { reason: 'invalid_url' } })
    await expect(guardedRequest(`http://user:pw@localhost:${ok.port}/`, { policy: local })).rejects.toMatchObject({
      code: 'TARGET_NOT_ALLOWED', details: { reason: 'credentials' },
    })
    expect(ok.requests).toEqual([])
  })

  it('never follows redirects: a 302 is returned as such and the Location target sees no request', async () => {
    const target = await startServer((_req, res) => res.end('secret'))
    const redirector = await startServer((_req, res) => {
      res.writeHead(302, { location: `${target.url}/latest/meta-data/` })
      res.end()
    })
    try {
      const res = await guardedRequest(`${redirector.url}/hook`, { policy: local, timeoutMs: 2000 })
      expect(res.status).toBe(302)
      expect(res.headers.location).toBe(`${target.url}/latest/meta-data/`)
      expect(redirector.requests).toEqual(['GET /hook'])
      expect(target.requests).toEqual([])
    } finally {
      await redirector.close()
      await target.close()
    }
  })

  it('a server that never answers → TARGET_TIMEOUT within the timeout', async () => {
    const hang = await startServer(() => { /* never responds */ })
    try {
      const started = Date.now()
      const err = await guardedRequest(`${hang.url}/slow`, { policy: local, timeoutMs: 300 }).catch(e => e)
      const elapsed = Date.now() - started
      expect(err).toMatchObject({ code: 'TARGET_TIMEOUT', details: { reason: 'timeout' } })
      expect(err.message).toBe(`127.0.0.1:${hang.port} did not answer within 300 ms.`)
      expect(elapsed).toBeLessThan(2000)
    } finally {
      await hang.close()
    }
  })

  it('a body that stalls after the headers → TARGET_TIMEOUT within the timeout', async () => {
    const stall = await startServer((_req, res) => { res.writeHead(200); res.write('partial') })
    try {
      const started = Date.now()
      await expect(guardedRequest(`${stall.url}/`, { policy: local, timeoutMs: 300 })).rejects.toMatchObject({ code: 'TARGET_TIMEOUT' })
      expect(Date.now() - started).toBeLessThan(2000)
    } finally {
      await stall.close()
    }
  })

  it('caps a huge body: reads maxResponseBytes, destroys the rest, length unknown', async () => {
    let sent = 0
    let closed = false
    const huge = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      const chunk = Buffer.alloc(64 * 1024, 'a')
      const pump = (): void => {
        while (sent < 200 * 1024 * 1024) {
          sent += chunk.length
          if (!res.write(chunk)) { res.once('drain', pump); return }
        }
        res.end()
      }
      res.on('close', () => { closed = true })
      pump()
    })
    try {
      const res = await guardedRequest(`${huge.url}/big`, { policy: local, maxResponseBytes: 1000, timeoutMs: 5000 })
      expect(res.status).toBe(200)
      expect(res.bodyBytes).toBe(1000)
      expect(res.truncated).toBe(true)
      expect(res.contentType).toBe('text/plain')
      expect(res.contentLength).toBeNull()
      await expect.poll(() => closed, { timeout: 2000 }).toBe(true)
      expect(sent).toBeLessThan(50 * 1024 * 1024)
    } finally {
      await huge.close()
    }
  })

  it('a connection refused → TARGET_UNREACHABLE', async () => {
    const gone = await startServer(() => {})
    const url = gone.url
    await gone.close()
    await expect(guardedRequest(url, { policy: local, timeoutMs: 2000 })).rejects.toMatchObject({ code: 'TARGET_UNREACHABLE', details: { reason: 'refused' } })
  })

  it('a DNS failure → TARGET_UNREACHABLE', async () => {
    const dispatcher = createGuardedDispatcher(strict, { resolver: fakeResolver(() => []) })
    try {
      await expect(guardedRequest('https://no-such-host.example/', { policy: strict, dispatcher })).rejects.toMatchObject({
        code: 'TARGET_UNREACHABLE', details: { reason: 'dns' }, message: 'The host name of no-such-host.example could not be resolved.',
      })
    } finally {
      await dispatcher.close()
    }
  })
})

describe('mapNetworkError', () => {
  const ctx = { host: 'h.example:443', timeoutMs: 1000 }
  it.each([
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'TARGET_TIMEOUT', 'timeout'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'TARGET_TIMEOUT', 'timeout'],
    [{ code: 'UND_ERR_BODY_TIMEOUT' }, 'TARGET_TIMEOUT', 'timeout'],
    [{ code: 'ENOTFOUND' }, 'TARGET_UNREACHABLE', 'dns'],
    [{ code: 'EAI_AGAIN' }, 'TARGET_UNREACHABLE', 'dns'],
    [{ code: 'ECONNREFUSED' }, 'TARGET_UNREACHABLE', 'refused'],
    [{ code: 'ECONNRESET' }, 'TARGET_UNREACHABLE', 'reset'],
    [{ code: 'UND_ERR_SOCKET' }, 'TARGET_UNREACHABLE', 'reset'],
    [{ code: 'EHOSTUNREACH' }, 'TARGET_UNREACHABLE', 'no_route'],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'TARGET_UNREACHABLE', 'tls'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'TARGET_UNREACHABLE', 'tls'],
    [new AggregateError([Object.assign(new Error('internal detail'), { code: 'ECONNREFUSED' })], 'internal detail'), 'TARGET_UNREACHABLE', 'refused'],
    [new Error('something odd'), 'TARGET_UNREACHABLE', 'network'],
  ])('%o → %s (%s)', (raw, code, reason) => {
    const err = mapNetworkError(raw instanceof Error ? raw : Object.assign(new Error('internal detail'), raw), ctx)
    expect(err).toMatchObject({ code, details: { reason } })
    expect(err.message).not.toMatch(/internal detail/)
  })

  it('keeps an AppError as it is', () => {
    const original = new AppError('TARGET_NOT_ALLOWED', 'x')
    expect(mapNetworkError(original, ctx)).toBe(original)
  })
})
