import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t?.close() })

describe('authentication and organisations', () => {
  it('refuses requests without a valid bearer key with a JSON error', async () => {
    for (const key of [null, 'fy_wrong', '']) {
      const res = await t.api('GET', '/api/v1/agents', { key })
      expect(res.statusCode).toBe(401)
      expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED', message: expect.any(String) })
    }
    const basic = await t.api('GET', '/api/v1/agents', { key: null, headers: { authorization: 'Basic Zm9vOmJhcg==' } })
    expect(basic.statusCode).toBe(401)
  })

  it('lets only the instance admin create organisations', async () => {
    const orgKey = await t.newOrg('acme')
    const res = await t.api('POST', '/api/v1/admin/orgs', { key: orgKey, body: { name: 'sneaky' } })
    expect(res.statusCode).toBe(403)
    expect(res.json().code).toBe('FORBIDDEN')
  })

  it('shows a new key once, lists keys without it, and revokes', async () => {
    const orgKey = await t.newOrg('keys')
    const created = await t.api('POST', '/api/v1/api-keys', { key: orgKey, body: { name: 'ci', role: 'admin' } })
    expect(created.statusCode).toBe(201)
    const { apiKey, key } = created.json()
    expect(apiKey).toMatch(/^fy_/)
    expect(key.hint).toBe(apiKey.slice(-4))

    const list = await t.api('GET', '/api/v1/api-keys', { key: apiKey })
    expect(list.statusCode).toBe(200)
    expect(list.body).not.toContain(apiKey)
    expect(list.json().items).toHaveLength(2)

    // keys of another organisation are invisible: 404, not 403
    expect((await t.api('DELETE', `/api/v1/api-keys/${key.id}`)).statusCode).toBe(404)
    expect((await t.api('DELETE', `/api/v1/api-keys/${key.id}`, { key: orgKey })).statusCode).toBe(204)
    expect((await t.api('GET', '/api/v1/agents', { key: apiKey })).statusCode).toBe(401)
  })

  it('stores API keys hashed, never in plaintext', async () => {
    const { rows } = await t.database.db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys')
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) expect(r.key_hash).not.toContain(t.adminKey)
    expect(rows.map(r => r.key_hash)).toContain((await import('../../src/auth/api-keys.js')).hashApiKey(t.adminKey))
  })

  it('never logs the Authorization header', async () => {
    await t.api('GET', '/api/v1/agents')
    await t.api('GET', '/api/v1/agents', { key: 'fy_wrong_but_secret_looking' })
    const all = t.logs.join('\n')
    expect(all).not.toContain(t.adminKey)
    expect(all).not.toContain('fy_wrong_but_secret_looking')
  })
})

describe('API keys revoked by another process (FERRY_API_KEY_CACHE_SECONDS)', () => {
  // the row deleted behind this process's back stands for a revocation through another API process
  async function revokeElsewhere (app: TestApp, apiKey: string): Promise<void> {
    const { hashApiKey } = await import('../../src/auth/api-keys.js')
    await app.database.db.query('DELETE FROM api_keys WHERE key_hash = $1', [hashApiKey(apiKey)])
  }

  it('keeps accepting a verified key for at most the cache time', async () => {
    const short = await createTestApp({ env: { FERRY_API_KEY_CACHE_SECONDS: '1' } })
    try {
      const key = await short.newOrg('cached')
      expect((await short.api('GET', '/api/v1/agents', { key })).statusCode).toBe(200)
      await revokeElsewhere(short, key)
      expect((await short.api('GET', '/api/v1/agents', { key })).statusCode).toBe(200)
      // a deliberate wait: the cache time (1 s) passes
      await new Promise(resolve => setTimeout(resolve, 1_100))
      expect((await short.api('GET', '/api/v1/agents', { key })).statusCode).toBe(401)
    } finally { await short.close() }
  })

  it('refuses on the next request with the cache switched off', async () => {
    const uncached = await createTestApp({ env: { FERRY_API_KEY_CACHE_SECONDS: '0' } })
    try {
      const key = await uncached.newOrg('uncached')
      expect((await uncached.api('GET', '/api/v1/agents', { key })).statusCode).toBe(200)
      await revokeElsewhere(uncached, key)
      expect((await uncached.api('GET', '/api/v1/agents', { key })).statusCode).toBe(401)
      // last_used_at is still written at most once a minute
      const { rows } = await uncached.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE last_used_at IS NOT NULL')
      expect(rows[0].n).toBeGreaterThanOrEqual(1)
    } finally { await uncached.close() }
  })
})

describe('ops and errors', () => {
  it('answers /healthz, /readyz, /metrics, /docs/json', async () => {
    expect((await t.api('GET', '/healthz', { key: null })).json()).toEqual({ status: 'ok' })
    const ready = await t.api('GET', '/readyz', { key: null })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', migrations: 'ok', queue: 'ok' } })
    const metrics = await t.api('GET', '/metrics', { key: null })
    expect(metrics.body).toContain('ferry_http_request_duration_seconds')
    const docs = await t.api('GET', '/docs/json', { key: null })
    expect(docs.statusCode).toBe(200)
    expect(Object.keys(docs.json().paths)).toContain('/api/v1/agents/{id}')
    expect((await t.api('GET', '/docs', { key: null })).statusCode).toBeLessThan(400)
  })

  it('answers unknown routes and bad JSON with the error shape', async () => {
    const missing = await t.api('GET', '/api/v1/nope')
    expect(missing.statusCode).toBe(404)
    expect(missing.json().code).toBe('NOT_FOUND')
    const badJson = await t.api('POST', '/api/v1/agents', { body: '{"name":', headers: { 'content-type': 'application/json' } })
    expect(badJson.statusCode).toBe(400)
    expect(badJson.json().code).toBe('VALIDATION_FAILED')
  })

  it('keeps 5xx bodies generic and the detail in the log', async () => {
    const broken = await createTestApp()
    try {
      await broken.database.db.exec('ALTER TABLE agents RENAME TO agents_gone')
      const res = await broken.api('GET', '/api/v1/agents')
      expect(res.statusCode).toBe(500)
      expect(res.json()).toEqual({ code: 'INTERNAL', message: 'Internal server error.' })
      expect(res.body).not.toMatch(/agents|relation|sql/i)
      expect(broken.logs.join('\n')).toMatch(/relation \\"agents\\" does not exist/)
    } finally {
      await broken.close()
    }
  })
})
