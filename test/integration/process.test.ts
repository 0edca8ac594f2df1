import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { backend, createPostgresDatabase } from '../helpers/db.js'
import { freePort, spawnFerry, waitForHttp } from '../helpers/process.js'

const cleanups: Array<() => Promise<unknown>> = []
afterAll(async () => { for (const c of cleanups.reverse()) await c().catch(() => {}) })

describe('the real process', () => {
  it('starts, answers /healthz, restarts and finds its data again; SIGTERM stops it cleanly', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-proc-'))
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }))
    const port = await freePort()
    const env: Record<string, string> = { PORT: String(port), FERRY_DATA_DIR: dataDir }
    if (backend() === 'postgres') {
      const pg = await createPostgresDatabase()
      cleanups.push(pg.drop)
      env.DATABASE_URL = pg.url
    }
    const base = `http://127.0.0.1:${port}`

    const first = spawnFerry(['serve'], env)
    let alive = true
    first.exited.then(() => { alive = false })
    const ms = await waitForHttp(`${base}/healthz`, 90_000, () => alive)
    expect(ms).toBeGreaterThanOrEqual(0)
    // the generated admin key is printed once and saved 0600
    const keyFile = path.join(dataDir, 'admin-api-key')
    const key = (await fs.readFile(keyFile, 'utf8')).trim()
    expect((await fs.stat(keyFile)).mode & 0o777).toBe(0o600)
    expect(first.output()).toContain(key)
    const created = await fetch(`${base}/api/v1/agents`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'survives restarts' }),
    })
    expect(created.status).toBe(201)
    const agentId = (await created.json()).id
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)

    const second = spawnFerry(['serve'], env)
    cleanups.push(async () => { second.child.kill('SIGKILL') })
    let alive2 = true
    second.exited.then(() => { alive2 = false })
    await waitForHttp(`${base}/readyz`, 90_000, () => alive2)
    const again = await fetch(`${base}/api/v1/agents/${agentId}`, { headers: { authorization: `Bearer ${key}` } })
    expect(again.status).toBe(200)
    expect((await again.json()).name).toBe('survives restarts')
    // no second key is generated on restart
    expect(second.output()).not.toContain('admin API key')
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  }, 240_000)

  it('stops with one clear line on a bad configuration', async () => {
    const p = spawnFerry(['serve'], { PORT: 'eighty' })
    expect(await p.exited).toBe(2)
    expect(p.output().trim()).toBe('ferry: configuration error: PORT: expected a whole number, got "eighty"')
  })
})
