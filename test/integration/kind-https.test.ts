import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pullSource } from '../../src/sync/pull.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

/**
 * The https kind end to end, against a local node:http server that serves ETags and 304s (and a
 * path without any validator): save-time ping (404, redirect, refused header secret), Test, pull 1
 * ingests, pull 2 ingests nothing (304 / same body hash), a changed file once, a redirect named
 * with its Location, the header secret never in an answer or a log line.
 */

const API_KEY = 'k3y-of-the-supplier-0123456789'
let t: TestApp
let server: http.Server
let origin: string
let agentId: string
let headerSecretId: string
let wrongHeaderSecretId: string
/** the files the server serves, by path */
const files = new Map<string, { body: string, etag?: string }>()
/** every request: path, method and If-None-Match, and the answer's status */
const seen: Array<{ path: string, method: string, ifNoneMatch?: string, status: number }> = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const answer = (status: number, headers: Record<string, string> = {}, body = '') => {
      seen.push({ path: url.pathname, method: req.method ?? '', ifNoneMatch: req.headers['if-none-match'], status })
      res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : body)
    }
    if (url.pathname === '/moved.csv') return answer(302, { location: 'https://cdn.example.net/feeds/stock.csv' })
    if (url.pathname.startsWith('/private/') && req.headers['x-api-key'] !== API_KEY) return answer(401)
    const file = files.get(url.pathname)
    if (!file) return answer(404)
    if (file.etag !== undefined && req.headers['if-none-match'] === file.etag) return answer(304, { etag: file.etag })
    answer(200, { 'content-type': 'text/csv', ...(file.etag !== undefined ? { etag: file.etag } : {}) }, file.body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_TARGET_TIMEOUT_MS: '5000' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'https', rules: { autoPull: false } } })).json().id
  const secret = (value: string) => t.api('POST', '/api/v1/secrets', {
    body: { name: `supplier ${value.slice(0, 4)}`, type: 'http_header', value: { name: 'X-Api-Key', value } },
  })
  headerSecretId = (await secret(API_KEY)).json().id
  wrongHeaderSecretId = (await secret('not-the-key-at-all')).json().id
})
afterAll(async () => {
  await t?.close()
  await new Promise(resolve => server?.close(resolve))
})

const base = () => `/api/v1/agents/${agentId}/data-sources`
const create = (config: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  t.api('POST', base(), { body: { name: `url ${Math.random()}`, role: 'INVENTORY_SOURCE', type: 'https', config, ...extra } })
const pull = (sourceId: string) => pullSource(t.runtime.deps, { sourceId, trigger: 'manual' })
const serve = (path: string, body: string, withEtag: boolean) =>
  files.set(path, { body, ...(withEtag ? { etag: `"${createHash('sha1').update(body).digest('hex').slice(0, 12)}"` } : {}) })

async function landed (sourceId: string): Promise<Record<string, number>> {
  const { rows } = await t.database.db.query<{ file_name: string, uploads: number }>(
    'SELECT file_name, count(*) AS uploads FROM inventory_uploads WHERE source_id = $1 GROUP BY file_name', [sourceId])
  return Object.fromEntries(rows.map(r => [r.file_name, Number(r.uploads)]))
}

describe('https sources against a local server', () => {
  it('refuses at save time a URL that does not answer with the file, naming the field', async () => {
    const missing = await create({ url: `${origin}/nothing-here.csv` })
    expect(missing.statusCode, missing.body).toBe(422)
    expect(missing.json()).toMatchObject({ code: 'SOURCE_VALIDATION_FAILED', details: { field: 'config.url', httpStatus: 404 } })
    expect(missing.json().message).toMatch(/nothing-here\.csv answered 404 Not Found/)

    const moved = await create({ url: `${origin}/moved.csv` })
    expect(moved.statusCode).toBe(422)
    expect(moved.json()).toMatchObject({ details: { field: 'config.url', location: 'https://cdn.example.net/feeds/stock.csv' } })
    expect(moved.json().message).toMatch(/redirects \(HTTP 302\) to https:\/\/cdn\.example\.net\/feeds\/stock\.csv/)

    serve('/private/stock.csv', 'sku,quantity\nP-1,1\n', true)
    const refused = await create({ url: `${origin}/private/stock.csv`, headerSecretRef: wrongHeaderSecretId })
    expect(refused.statusCode).toBe(422)
    expect(refused.json()).toMatchObject({ details: { field: 'config.headerSecretRef', httpStatus: 401 } })
    expect(refused.json().message).toMatch(/"X-Api-Key" header/)
    expect((await create({ url: `${origin}/private/stock.csv` })).json()).toMatchObject({ details: { field: 'config.url' } })

    const ftp = await create({ url: 'ftp://example.com/stock.csv' })
    expect(ftp.statusCode).toBe(400)
    const sink = await t.api('POST', base(), { body: { name: 'no', role: 'RESULTS_SINK', type: 'https', config: { url: `${origin}/x` } } })
    expect(sink.statusCode).toBe(400)
    expect(sink.json().details).toMatchObject({ field: 'role' })
  })

  it('ETag server: Test, pull 1 ingests, pull 2 is a 304, a changed file is ingested once (a query string in the URL)', async () => {
    serve('/feeds/stock.csv', 'sku,name,quantity\nA-1,Anchor,3\nA-2,Anchor chain,1\n', true)
    const url = `${origin}/feeds/stock.csv?customer=42`
    const res = await create({ url })
    expect(res.statusCode, res.body).toBe(201)
    const sourceId = res.json().id as string

    const test = (await t.api('POST', `${base()}/${sourceId}/test`)).json()
    expect(test.ok, JSON.stringify(test)).toBe(true)
    expect(test.checks.map((c: { name: string }) => c.name)).toEqual(['endpoint', 'url', 'prefix', 'format'])
    expect(test.checks[2].message).toBe(`URL ${origin}/feeds/stock.csv lists 1 file, 1 matching, 1 new (not yet pulled).`)
    expect(test.checks[3].message).toMatch(/recognised as CSV/)

    const first = await pull(sourceId)
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded')
    expect(first.manifest).toMatchObject([{ key: url, status: 'ingested' }])
    expect(await landed(sourceId)).toEqual({ 'stock.csv': 1 })

    seen.length = 0
    expect((await pull(sourceId)).manifest).toEqual([])
    expect(seen).toEqual([{ path: '/feeds/stock.csv', method: 'GET', ifNoneMatch: files.get('/feeds/stock.csv')!.etag, status: 304 }])

    serve('/feeds/stock.csv', 'sku,name,quantity\nA-1,Anchor,2\n', true)
    const third = await pull(sourceId)
    expect(third.manifest).toMatchObject([{ key: url, status: 'ingested', etag: files.get('/feeds/stock.csv')!.etag }])
    expect((await pull(sourceId)).manifest).toEqual([])
    expect(await landed(sourceId)).toEqual({ 'stock.csv': 2 })
  })

  it('no validator: the body hash tells an unchanged file from a changed one; a header secret is sent', async () => {
    serve('/private/plain.csv', 'sku,quantity\nN-1,1\n', false)
    const res = await create({ url: `${origin}/private/plain.csv`, headerSecretRef: headerSecretId })
    expect(res.statusCode, res.body).toBe(201)
    const sourceId = res.json().id as string
    const first = await pull(sourceId)
    expect(first.manifest).toMatchObject([{ status: 'ingested', etag: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }])
    expect((await pull(sourceId)).manifest).toEqual([])
    serve('/private/plain.csv', 'sku,quantity\nN-1,2\n', false)
    expect((await pull(sourceId)).manifest).toMatchObject([{ status: 'ingested' }])
    expect((await pull(sourceId)).manifest).toEqual([])
    expect(await landed(sourceId)).toEqual({ 'plain.csv': 2 })
  })

  it('a URL that starts redirecting fails the pull naming the Location', async () => {
    const res = await create({ url: `${origin}/moved.csv` }, { validate: false })
    expect(res.statusCode, res.body).toBe(201)
    const sync = await pull(res.json().id)
    expect(sync.status).toBe('failed')
    expect(sync.error).toMatchObject({ code: 'HTTPS_REDIRECT', details: { location: 'https://cdn.example.net/feeds/stock.csv' } })
  })

  it('never shows or logs the header secret', async () => {
    const bodies = [(await t.api('GET', '/api/v1/secrets')).body, (await t.api('GET', base())).body, t.logs.join('\n')]
    for (const text of bodies) expect(text).not.toContain(API_KEY)
  })
})
