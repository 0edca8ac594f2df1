import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

// issue #14 case 10: /metrics behind an optional token, /docs with the UI's security headers,
// a warning when FERRY_ALLOW_PRIVATE_NETWORKS opens the whole address space
const TOKEN = 'metrics-token-0123456789abcdef'
let t: TestApp

beforeAll(async () => {
  t = await createTestApp({ env: { FERRY_METRICS_TOKEN: TOKEN, FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,0.0.0.0/0,::/0' } })
})
afterAll(async () => {
  await t?.close()
})

describe('ops endpoints', () => {
  it('answers /metrics only with the metrics token when one is set', async () => {
    expect((await t.api('GET', '/metrics', { key: null })).statusCode).toBe(401)
    expect((await t.api('GET', '/metrics', { key: 'metrics-token-0123456789abcdeX' })).statusCode).toBe(401)
    // an API key is not the metrics token
    expect((await t.api('GET', '/metrics')).statusCode).toBe(401)
    const ok = await t.api('GET', '/metrics', { key: TOKEN })
    expect(ok.statusCode).toBe(200)
    expect(ok.body).toContain('# HELP')
  })

  it('serves /docs with the same security headers as the web UI', async () => {
    const ui = await t.api('GET', '/', { key: null, headers: { accept: 'text/html' } })
    for (const url of ['/docs', '/docs/', '/docs/static/index.html', '/docs/json']) {
      const res = await t.api('GET', url, { key: null })
      expect(res.statusCode, url).toBeLessThan(400)
      for (const name of ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'referrer-policy']) {
        expect(res.headers[name], `${url} ${name}`).toBe(ui.headers[name])
      }
    }
  })

  it('warns at start when the allowed private networks cover the whole address space', () => {
    const warnings = t.logs.map(l => JSON.parse(l)).filter(l => l.level === 40 && /FERRY_ALLOW_PRIVATE_NETWORKS/.test(l.msg))
    expect(warnings).toHaveLength(1)
    expect(warnings[0].ranges).toEqual(['0.0.0.0/0', '::/0'])
  })
})
