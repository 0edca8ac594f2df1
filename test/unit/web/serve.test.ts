import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { installErrorHandling } from '../../../src/plugins/errors.js'
import { registerWeb } from '../../../src/plugins/web.js'

const INDEX = '<!doctype html><title>Ferry</title><script type="module" src="/assets/index-abc123.js"></script>'

async function appWith (root: string): Promise<FastifyInstance> {
  const app = Fastify()
  installErrorHandling(app)
  app.get('/api/v1/agents', async () => ({ items: [] }))
  app.get('/healthz', async () => ({ status: 'ok' }))
  await registerWeb(app, { root })
  await app.ready()
  return app
}

describe('registerWeb: serving the built UI', () => {
  let dir: string
  let app: FastifyInstance

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-web-'))
    await fs.mkdir(path.join(dir, 'assets'))
    await fs.writeFile(path.join(dir, 'index.html'), INDEX)
    await fs.writeFile(path.join(dir, 'assets/index-abc123.js'), 'console.log(1)')
    app = await appWith(dir)
  })
  afterAll(async () => {
    await app?.close()
    await fs.rm(dir, { recursive: true, force: true })
  })

  it('serves index.html at / with no-cache and a strict CSP', async () => {
    const res = await app.inject({ method: 'GET', url: '/' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toContain('text/html')
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['content-security-policy']).toContain("script-src 'self'")
    expect(res.body).toBe(INDEX)
  })

  it('serves hashed assets as immutable for a year', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(res.headers['content-type']).toContain('javascript')
    const missing = await app.inject({ method: 'GET', url: '/assets/nope.js', headers: { accept: 'text/html' } })
    expect(missing.statusCode).toBe(404)
    expect(missing.json().code).toBe('NOT_FOUND')
  })

  it('falls back to index.html for HTML navigations outside the API', async () => {
    const res = await app.inject({ method: 'GET', url: '/agents/42/secrets?x=1', headers: { accept: 'text/html,application/xhtml+xml' } })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.body).toBe(INDEX)
  })

  it.each([
    ['/api/v1/nope', 'text/html'],
    ['/api', 'text/html'],
    ['/docs/nope', 'text/html'],
    ['/metrics/x', 'text/html'],
    ['/healthz/x', 'text/html'],
    ['/readyz', 'text/html'],
    ['/agents/42', 'application/json'],
    ['/agents/42', '*/*'],
  ])('keeps the JSON 404 for GET %s (Accept: %s)', async (url, accept) => {
    const res = await app.inject({ method: 'GET', url, headers: { accept } })
    expect(res.statusCode).toBe(404)
    expect(res.json().code).toBe('NOT_FOUND')
  })

  it('does not answer other methods with the UI', async () => {
    const res = await app.inject({ method: 'POST', url: '/agents/42', headers: { accept: 'text/html' } })
    expect(res.statusCode).toBe(404)
  })

  it('leaves existing routes alone', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/agents', headers: { accept: 'text/html' } })).json()).toEqual({ items: [] })
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' })
  })

  it('says how to build the UI when dist/web is missing', async () => {
    const empty = await appWith(path.join(dir, 'does-not-exist'))
    try {
      const res = await empty.inject({ method: 'GET', url: '/' })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toContain('text/html')
      expect(res.body).toContain('UI not built: run <code>npm run build</code>')
      expect((await empty.inject({ method: 'GET', url: '/assets/index-abc123.js' })).statusCode).toBe(404)
    } finally {
      await empty.close()
    }
  })
})
