import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { RemoteFile } from '../../src/connectors/remote-file.js'
import { BODY_HASH_PREFIX, HttpsTransport, type HttpsTransportOptions } from '../../src/kinds/https/transport.js'
import { AddressPolicy } from '../../src/net/address-policy.js'

const loopback = new AddressPolicy(['127.0.0.0/8', '::1/128'])
const strict = new AddressPolicy([])
const API_KEY = 'k-3f9a0c7e51b2d4a8'

/** A supplier's feed server: validators, 304s, a redirect, auth, stalls. Records every request's headers. */
function feedServer () {
  const state = { etagBody: 'sku,qty\nA,1\n', etagVersion: 1, plainBody: 'sku,qty\nP,1\n', lastModified: new Date('2026-11-01T10:00:00Z') }
  const seen: Array<{ method: string, url: string, headers: http.IncomingHttpHeaders }> = []
  const hanging: http.ServerResponse[] = []
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers })
    switch (req.url) {
      case '/etag.csv': {
        const etag = `"v${state.etagVersion}"`
        res.setHeader('etag', etag)
        res.setHeader('last-modified', state.lastModified.toUTCString())
        if (req.headers['if-none-match'] === etag) { res.writeHead(304).end(); return }
        res.writeHead(200, { 'content-type': 'text/csv' }).end(req.method === 'HEAD' ? undefined : state.etagBody)
        return
      }
      case '/ignores-conditions.csv':
        res.writeHead(200, { etag: '"same"' }).end('sku\nI\n')
        return
      case '/lm.csv': {
        const since = req.headers['if-modified-since']
        if (since !== undefined && Date.parse(since) >= state.lastModified.getTime()) { res.writeHead(304).end(); return }
        res.writeHead(200, { 'last-modified': state.lastModified.toUTCString() }).end('sku\nL\n')
        return
      }
      case '/plain.csv':
        res.writeHead(200).end(state.plainBody)
        return
      case '/redirect':
        res.writeHead(302, { location: '/etag.csv?from=redirect' }).end()
        return
      case '/private.csv':
        if (req.headers['x-api-key'] !== API_KEY) { res.writeHead(401).end('no'); return }
        res.writeHead(200).end('sku\nS\n')
        return
      case '/nohead.csv':
        if (req.method === 'HEAD') { res.writeHead(405).end(); return }
        if (req.headers.range === 'bytes=0-0') { res.writeHead(206, { 'content-range': 'bytes 0-0/6' }).end('s'); return }
        res.writeHead(200).end('sku\nN\n')
        return
      case '/big.csv':
        res.writeHead(200)
        res.write(Buffer.alloc(600, 'x'))
        res.end(Buffer.alloc(600, 'x'))
        return
      case '/slow.csv':
        hanging.push(res) // never answers
        return
      case '/stall.csv':
        res.writeHead(200)
        res.write('sku,qty\n') // then nothing
        hanging.push(res)
        return
      case '/busy.csv':
        res.writeHead(503).end()
        return
      default:
        res.writeHead(404).end()
    }
  })
  return { server, state, seen, hanging }
}

// no database is involved: run in one of the two backend projects only
describe.skipIf(process.env.FERRY_TEST_DB === 'postgres')('HttpsTransport against a local feed server', () => {
  const feed = feedServer()
  let base: string
  let port: number
  let tempDir: string
  const open: HttpsTransport[] = []

  beforeAll(async () => {
    await new Promise<void>(resolve => feed.server.listen(0, '127.0.0.1', resolve))
    port = (feed.server.address() as AddressInfo).port
    base = `http://127.0.0.1:${port}`
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-https-'))
  })
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close()
  })
  afterAll(async () => {
    for (const res of feed.hanging) res.destroy()
    feed.server.closeAllConnections()
    await new Promise(resolve => feed.server.close(resolve))
    await fs.rm(tempDir, { recursive: true, force: true })
  })

  const transport = (url: string, options: Partial<HttpsTransportOptions> = {}): HttpsTransport => {
    const full = url.startsWith('http') ? url : `${base}${url}`
    const t = new HttpsTransport({ url: full, policy: loopback, timeoutMs: 2000, maxBytes: 1000, tempDir, ...options })
    open.push(t)
    return t
  }
  const listed = async (t: HttpsTransport): Promise<RemoteFile[]> => {
    const files: RemoteFile[] = []
    for await (const page of t.list()) files.push(...page)
    return files
  }
  const text = async (stream: Readable): Promise<string> => {
    const chunks: Buffer[] = []
    for await (const c of stream) chunks.push(c as Buffer)
    return Buffer.concat(chunks).toString()
  }
  const previousOf = (file: RemoteFile) => ({ etag: file.etag, lastModified: file.lastModified })

  it('pings with HEAD, and with a one-byte GET where HEAD is not allowed', async () => {
    await transport('/etag.csv').ping()
    expect(feed.seen.at(-1)).toMatchObject({ method: 'HEAD', url: '/etag.csv' })
    await transport('/nohead.csv').ping()
    expect(feed.seen.at(-1)).toMatchObject({ method: 'GET', url: '/nohead.csv', headers: { range: 'bytes=0-0' } })
    await expect(transport('/missing.csv').ping()).rejects.toMatchObject({ code: 'HTTPS_NOT_FOUND', failureType: 'config' })
  })

  it('lists the file with its ETag, opens and heads it; the ETag sent back gives a 304 and nothing is listed', async () => {
    const first = transport('/etag.csv')
    const [file] = await listed(first)
    expect(file).toEqual({ key: `${base}/etag.csv`, etag: '"v1"', size: 12, lastModified: feed.state.lastModified })
    expect(await text(await first.open(file))).toBe('sku,qty\nA,1\n')
    expect((await first.head(file, 3)).toString()).toBe('sku')

    const second = transport('/etag.csv', { previous: previousOf(file) })
    expect(await listed(second)).toEqual([])
    expect(feed.seen.at(-1)).toMatchObject({ headers: { 'if-none-match': '"v1"', 'if-modified-since': feed.state.lastModified.toUTCString() } })

    feed.state.etagVersion = 2
    feed.state.etagBody = 'sku,qty\nA,2\n'
    const third = transport('/etag.csv', { previous: previousOf(file) })
    const [changed] = await listed(third)
    expect(changed.etag).toBe('"v2"')
    expect(await text(await third.open(changed))).toBe('sku,qty\nA,2\n')
  })

  it('a 200 with the previous ETag (a server that ignores conditions) lists nothing', async () => {
    const [file] = await listed(transport('/ignores-conditions.csv'))
    expect(await listed(transport('/ignores-conditions.csv', { previous: previousOf(file) }))).toEqual([])
  })

  it('If-Modified-Since from the previous Last-Modified; without an ETag the etag is the SHA-256 of the body', async () => {
    const [file] = await listed(transport('/lm.csv'))
    expect(file.etag).toBe(BODY_HASH_PREFIX + createHash('sha256').update('sku\nL\n').digest('hex'))
    expect(await listed(transport('/lm.csv', { previous: previousOf(file) }))).toEqual([])
    // the hash is never sent as If-None-Match
    expect(feed.seen.at(-1)?.headers['if-none-match']).toBeUndefined()
  })

  it('without any validator the body hash is the etag: the same body gives the same etag, a new body a new one', async () => {
    const [a] = await listed(transport('/plain.csv'))
    const [b] = await listed(transport('/plain.csv', { previous: previousOf(a) }))
    expect(b.etag).toBe(a.etag)
    feed.state.plainBody = 'sku,qty\nP,2\n'
    const [c] = await listed(transport('/plain.csv', { previous: previousOf(b) }))
    expect(c.etag).not.toBe(a.etag)
    expect(c.lastModified).toBeNull()
  })

  it('does not follow a redirect: HTTPS_REDIRECT names the Location', async () => {
    const err = await listed(transport('/redirect')).catch(e => e)
    expect(err).toMatchObject({ code: 'HTTPS_REDIRECT', failureType: 'config', details: { httpStatus: 302, location: `${base}/etag.csv?from=redirect` } })
    expect(err.message).toContain(`redirects (HTTP 302) to ${base}/etag.csv?from=redirect`)
    expect(feed.seen.at(-1)?.url).toBe('/redirect')
  })

  it('404 is HTTPS_NOT_FOUND; 503 is a transient HTTPS_ERROR', async () => {
    await expect(listed(transport('/missing.csv')))
      .rejects.toMatchObject({ code: 'HTTPS_NOT_FOUND', message: `${base}/missing.csv answered 404 Not Found: check the URL.` })
    await expect(listed(transport('/busy.csv'))).rejects.toMatchObject({ code: 'HTTPS_ERROR', failureType: 'transient', details: { httpStatus: 503 } })
  })

  it('sends the header secret; without it (or with a wrong value) HTTPS_AUTH_FAILED, and the value never shows', async () => {
    const [file] = await listed(transport('/private.csv', { header: { name: 'X-Api-Key', value: API_KEY } }))
    expect(feed.seen.at(-1)?.headers['x-api-key']).toBe(API_KEY)
    expect(file.size).toBe(6)

    await expect(listed(transport('/private.csv'))).rejects.toMatchObject({ code: 'HTTPS_AUTH_FAILED', message: expect.stringMatching(/needs credentials/) })
    const err = await listed(transport('/private.csv', { header: { name: 'X-Api-Key', value: 'wrong-value-123456' } })).catch(e => e)
    expect(err).toMatchObject({ code: 'HTTPS_AUTH_FAILED', failureType: 'config' })
    expect(err.message).toContain('"X-Api-Key" header')
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('wrong-value')
  })

  it('a server that never answers, or stalls mid-body, times out (transient)', async () => {
    const started = Date.now()
    await expect(listed(transport('/slow.csv', { timeoutMs: 300 }))).rejects.toMatchObject({ code: 'TARGET_TIMEOUT', failureType: 'transient' })
    await expect(listed(transport('/stall.csv', { timeoutMs: 300 }))).rejects.toMatchObject({ code: 'TARGET_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(5000)
    // the partial spool of the stalled body is gone
    expect(await fs.readdir(tempDir)).toEqual([])
  })

  it('a body over the limit fails with FILE_TOO_LARGE and leaves no temp file', async () => {
    await expect(listed(transport('/big.csv'))).rejects.toMatchObject({ code: 'FILE_TOO_LARGE', details: { limitBytes: 1000 } })
    expect(await fs.readdir(tempDir)).toEqual([])
  })

  it('close() deletes the spooled body', async () => {
    const t = transport('/etag.csv')
    await listed(t)
    expect(await fs.readdir(tempDir)).toHaveLength(1)
    await t.close()
    expect(await fs.readdir(tempDir)).toEqual([])
    await expect(t.head({ key: `${base}/etag.csv`, etag: '"v2"', size: 12, lastModified: null }, 3)).rejects.toMatchObject({ code: 'INTERNAL' })
  })

  it('refuses private targets unless the policy allows them', async () => {
    expect(() => transport('/etag.csv', { policy: strict })).toThrow(expect.objectContaining({ code: 'TARGET_NOT_ALLOWED' }))
    const before = feed.seen.length
    await expect(listed(transport(`http://localhost:${port}/etag.csv`, { policy: strict })))
      .rejects.toMatchObject({ code: 'TARGET_NOT_ALLOWED', message: expect.stringMatching(/^"localhost" resolves to a loopback address/) })
    expect(feed.seen.length).toBe(before)
    expect(() => transport('ftp://example.com/x.csv')).toThrow(expect.objectContaining({ code: 'TARGET_NOT_ALLOWED' }))
  })
})
