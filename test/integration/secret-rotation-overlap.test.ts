import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openVault, rotateMasterKey } from '../../src/vault/vault.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { startReceiver, type Receiver } from '../helpers/receiver.js'

// Replacing a webhook secret's value keeps the value it replaced valid for
// FERRY_WEBHOOK_SECRET_OVERLAP_HOURS (docs/security.md "Rotation overlap"). The end of the overlap
// is reached by moving rotated_at back in the database, the clock the overlap is judged by.

let t: TestApp
let agentId: string
const receivers: Receiver[] = []

beforeAll(async () => {
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_WEBHOOK_SECRET_OVERLAP_HOURS: '24' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'rotation', rules: { autoMap: false } } })).json().id
})
afterEach(async () => { for (const r of receivers.splice(0)) await r.close() })
afterAll(async () => { await t?.close() })

const newSecret = () => 'whsec_' + randomBytes(32).toString('base64')

const sign = (secret: string, id: string, timestamp: number, body: Buffer): string =>
  'v1,' + createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.`).update(body).digest('base64')

async function deliver (sourceId: string, secret: string, csv: string) {
  const id = `msg_${randomUUID()}`
  const timestamp = Math.floor(Date.now() / 1000)
  const body = Buffer.from(csv)
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/inbound/${sourceId}`,
    headers: { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': sign(secret, id, timestamp, body), 'content-type': 'text/csv' },
    payload: body,
  })
}

const rotate = async (secretId: string, signingSecret: string) => {
  const res = await t.api('PATCH', `/api/v1/secrets/${secretId}`, { body: { value: { signingSecret } } })
  expect(res.statusCode, res.body).toBe(200)
  return res
}

/** the overlap is over: the value was replaced longer ago than FERRY_WEBHOOK_SECRET_OVERLAP_HOURS */
const endOverlap = (secretId: string) =>
  t.database.db.query("UPDATE secrets SET rotated_at = now() - interval '25 hours' WHERE id = $1", [secretId])

describe('inbound webhook source', () => {
  it('accepts the previous signing secret during the overlap and refuses it after', async () => {
    const created = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'inbound rotation', role: 'INVENTORY_SOURCE', type: 'webhook', config: {} },
    })
    expect(created.statusCode, created.body).toBe(201)
    const { id: sourceId, signingSecret: oldSecret } = created.json()
    const secretId = created.json().config.secretRef as string
    const replacement = newSecret()

    const res = await rotate(secretId, replacement)
    expect(res.body).not.toContain(oldSecret)
    expect(res.body).not.toContain(replacement)
    expect((await deliver(sourceId, replacement, 'sku,quantity\nA,1\n')).statusCode).toBe(200)
    expect((await deliver(sourceId, oldSecret, 'sku,quantity\nB,2\n')).statusCode).toBe(200)
    expect((await deliver(sourceId, newSecret(), 'sku,quantity\nC,3\n')).statusCode).toBe(401)

    await endOverlap(secretId)
    const late = await deliver(sourceId, oldSecret, 'sku,quantity\nD,4\n')
    expect(late.statusCode).toBe(401)
    expect(late.json().code).toBe('WEBHOOK_SIGNATURE_INVALID')
    expect((await deliver(sourceId, replacement, 'sku,quantity\nE,5\n')).statusCode).toBe(200)

    // neither value is logged, and the previous value is stored sealed, not in clear
    for (const s of [oldSecret, replacement]) expect(t.logs.join('\n')).not.toContain(s.slice(6))
    const { rows } = await t.database.db.query<{ previous_ciphertext: Uint8Array }>('SELECT previous_ciphertext FROM secrets WHERE id = $1', [secretId])
    expect(rows[0].previous_ciphertext).not.toBeNull()
    expect(Buffer.from(rows[0].previous_ciphertext).toString('latin1')).not.toContain(oldSecret.slice(6, 20))
  })

  it('a second rotation keeps only the value it replaced', async () => {
    const created = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'inbound twice', role: 'INVENTORY_SOURCE', type: 'webhook', config: {} },
    })
    const { id: sourceId, signingSecret: first } = created.json()
    const secretId = created.json().config.secretRef as string
    const second = newSecret()
    const third = newSecret()
    await rotate(secretId, second)
    await rotate(secretId, third)
    expect((await deliver(sourceId, third, 'sku,quantity\nA,1\n')).statusCode).toBe(200)
    expect((await deliver(sourceId, second, 'sku,quantity\nB,1\n')).statusCode).toBe(200)
    expect((await deliver(sourceId, first, 'sku,quantity\nC,1\n')).statusCode).toBe(401)
  })
})

describe('outbound push to a webhook sink', () => {
  async function mappedJob (): Promise<string> {
    const { payload, headers } = multipartFile('sku,name,quantity\nW-1,Widget,2\n', { fileName: 'stock.csv' })
    const up = await t.app.inject({
      method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
    })
    expect(up.statusCode, up.body).toBe(201)
    const job = (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.json().id } })).json()
    await expect.poll(async () => (await t.api('GET', `/api/v1/agents/${agentId}/jobs/${job.id}`)).json().status, { timeout: 30_000 }).toBe('succeeded')
    return job.id
  }

  it('signs with both secrets during the overlap, with the new one only after', async () => {
    const receiver = await startReceiver()
    receivers.push(receiver)
    const secret = await t.api('POST', '/api/v1/secrets', { body: { name: 'push rotation', type: 'webhook' } })
    const { id: secretId, signingSecret: oldSecret } = secret.json()
    const sink = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'push rotation', role: 'RESULTS_SINK', type: 'webhook', config: { url: receiver.url, secretRef: secretId }, validate: false },
    })
    expect(sink.statusCode, sink.body).toBe(201)
    const jobId = await mappedJob()
    const replacement = newSecret()
    await rotate(secretId, replacement)

    const pushOnce = async (n: number) => {
      const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sink.json().id}/push`, { body: { jobId } })
      expect(res.statusCode, res.body).toBe(202)
      const posts = await receiver.waitForPosts(n)
      const syncUrl = `/api/v1/agents/${agentId}/data-sources/${sink.json().id}/syncs/${res.json().syncId}`
      await expect.poll(async () => (await t.api('GET', syncUrl)).json().status, { timeout: 30_000 }).toBe('succeeded')
      return posts[n - 1]
    }
    const during = await pushOnce(1)
    const signatures = String(during.headers['webhook-signature']).split(' ')
    expect(signatures).toHaveLength(2)
    expect(signatures.every(s => s.startsWith('v1,'))).toBe(true)
    const headers = {
      'webhook-id': String(during.headers['webhook-id']),
      'webhook-timestamp': String(during.headers['webhook-timestamp']),
      'webhook-signature': String(during.headers['webhook-signature']),
    }
    // a receiver holding either secret accepts the delivery
    expect(() => new Webhook(oldSecret).verify(during.body.toString(), headers)).not.toThrow()
    expect(() => new Webhook(replacement).verify(during.body.toString(), headers)).not.toThrow()

    await endOverlap(secretId)
    const after = await pushOnce(2)
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1)
    const afterHeaders = {
      'webhook-id': String(after.headers['webhook-id']),
      'webhook-timestamp': String(after.headers['webhook-timestamp']),
      'webhook-signature': String(after.headers['webhook-signature']),
    }
    expect(() => new Webhook(replacement).verify(after.body.toString(), afterHeaders)).not.toThrow()
    expect(() => new Webhook(oldSecret).verify(after.body.toString(), afterHeaders)).toThrow()
  })
})

describe('master key rotation', () => {
  it('re-wraps the previous signing secret too: after the rotation both still verify', async () => {
    const created = (await t.api('POST', '/api/v1/secrets', { body: { name: 'rewrap overlap', type: 'webhook' } })).json()
    const replacement = newSecret()
    await rotate(created.id, replacement)
    // the test app's key (test/helpers/app.ts) → a new one, as `ferry vault rotate` does while Ferry is stopped
    const current = Buffer.alloc(32, 7)
    const next = randomBytes(32)
    const org = (await t.database.db.query<{ org_id: string }>('SELECT org_id FROM secrets WHERE id = $1', [created.id])).rows[0].org_id
    await rotateMasterKey(t.database.db, current, next)
    const vault = await openVault(t.database.db, next)
    const values = await vault.withSigningSecrets(t.database.db, org, created.id, async secrets => secrets.map(s => s.reveal()))
    expect(values).toEqual([replacement, created.signingSecret])
  })
})
