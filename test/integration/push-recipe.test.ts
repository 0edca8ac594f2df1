import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { until } from '../helpers/poll.js'

// docs/recipes/push-results-to-webhook.md, executed as written: its receiver runs as a child process
// and Ferry pushes real results to it.
const ROOT = path.resolve(import.meta.dirname, '../..')
const recipe = await fs.readFile(path.join(ROOT, 'docs/recipes/push-results-to-webhook.md'), 'utf8')
const receiverCode = [...recipe.matchAll(/```js\n([\s\S]*?)```/g)].map(m => m[1]).find(b => b.includes('ferry-receiver.mjs'))

let t: TestApp
let child: ChildProcess | undefined
const events: Array<{ event: string, id?: string | null, rows?: number | null, type?: string, port?: number }> = []

beforeAll(async () => {
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_TARGET_TIMEOUT_MS: '5000' } })
})
afterAll(async () => {
  child?.kill()
  await t?.close()
})

const waitFor = <T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<NonNullable<T>> =>
  until(what, fn, timeoutMs, 50).catch((err: Error) => { throw new Error(`${err.message}; events: ${JSON.stringify(events)}`) })

describe('docs/recipes/push-results-to-webhook.md', () => {
  it('has a Node receiver', () => {
    expect(receiverCode).toBeTruthy()
    expect(receiverCode).toContain("from 'standardwebhooks'")
  })

  it('the receiver verifies Ferry\'s pushes, drops the repeat of a job, and refuses a forged one', async () => {
    const secret = (await t.api('POST', '/api/v1/secrets', { body: { name: 'recipe signing', type: 'webhook' } })).json()
    // the recipe's receiver, run from the repository so `standardwebhooks` resolves as after `npm install`
    child = spawn(process.execPath, ['--input-type=module', '-e', receiverCode!], {
      cwd: ROOT, env: { PATH: process.env.PATH ?? '', FERRY_SIGNING_SECRET: secret.signingSecret, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    let buffered = ''
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line))
    })
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    const { port } = await waitFor('the receiver to listen', () => events.find(e => e.event === 'listening'))
      .catch((err) => { throw new Error(`${err.message}\n${stderr}`) })

    const agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'recipe' } })).json().id
    const created = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: {
        name: 'recipe receiver', role: 'RESULTS_SINK', type: 'webhook',
        config: { url: `http://127.0.0.1:${port}/ferry`, secretRef: secret.id, format: 'json' },
      },
    })
    expect(created.statusCode, created.body).toBe(201)
    const sinkId = created.json().id
    expect((await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sinkId}/test`)).json().ok).toBe(true)
    expect((await t.api('PATCH', `/api/v1/agents/${agentId}/data-sources/${sinkId}`, { body: { autoPush: true } })).statusCode).toBe(200)

    // an upload → autoMap → job → auto-push, received and verified by the recipe's code
    const { payload, headers } = multipartFile('sku,quantity\nREC-1,1\nREC-2,2\nREC-3,3\n', { fileName: 'stock.csv' })
    const up = await t.app.inject({
      method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
    })
    expect(up.statusCode).toBe(201)
    const received = await waitFor('the verified delivery', () => events.find(e => e.event === 'received'))
    expect(received).toMatchObject({ rows: 3, type: 'application/json; charset=utf-8' })
    expect(received.id).toMatch(/^msg_/)

    // the receiver sees the request before Ferry has recorded the attempt's outcome: wait for the
    // record, or on a loaded machine the second push finds the first still in progress (409)
    await expect.poll(async () => (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sinkId}/syncs`)).json().items
      .map((s: { status: string }) => s.status), { timeout: 20_000, interval: 50 }).toEqual(['succeeded'])
    const [job] = (await t.api('GET', `/api/v1/agents/${agentId}/jobs`)).json().items

    // the same job pushed again: same webhook-id, the receiver drops it (and Ferry sees a 2xx)
    const again = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sinkId}/push?wait=true`, { body: { jobId: job.id } })
    expect(again.json()).toMatchObject({ status: 'succeeded' })
    expect(again.json().manifest[0].attempts[0].status).toBe(200)
    const duplicate = await waitFor('the duplicate', () => events.find(e => e.event === 'duplicate'))
    expect(duplicate.id).toBe(received.id)
    expect(events.filter(e => e.event === 'received')).toHaveLength(1)

    // a request Ferry did not sign is refused
    const forged = await fetch(`http://127.0.0.1:${port}/ferry`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64'),
      },
      body: '[{"sku":"EVIL"}]',
    })
    expect(forged.status).toBe(401)
    expect(await waitFor('the rejection', () => events.find(e => e.event === 'rejected'))).toMatchObject({ id: 'msg_forged' })
  })
})
