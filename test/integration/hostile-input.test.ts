import { createHmac, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import type { ManifestEntry } from '../../src/db/sql/syncs.js'
import { pullSource } from '../../src/sync/pull.js'
import type { TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { startS3World, type S3World } from '../helpers/s3-world.js'

/**
 * What a client can send that PostgreSQL cannot store: U+0000 (text and jsonb refuse it) and lone
 * UTF-16 surrogates (jsonb refuses them; text would store U+FFFD in their place). In a file such a
 * value rejects its row, with the row number and the reason, and the rest of the file lands; in an API
 * string it is a 400. Broken multipart bodies are a 400 too. Nothing a client sends is a 500.
 */

const BUCKET = 'hostile-input'
let w: S3World
let t: TestApp
let agentId: string

beforeAll(async () => {
  w = await startS3World({ bucket: BUCKET, name: 'hostile' })
  t = w.t
  agentId = w.agentId
})
afterAll(async () => { await w?.close() })

/** A row of each kind: clean, NUL in a value, NUL in a key, NUL in a nested value, a lone surrogate, clean. Escapes as JSON writes them. */
const JSON_ROWS = [
  '{"sku":"OK1","quantity":1}',
  '{"sku":"A\\u0000B","quantity":2}',
  '{"sku":"K1","no\\u0000te":"x"}',
  '{"sku":"N1","dims":{"w":["x\\u0000"]}}',
  '{"sku":"S1","name":"half \\ud800 pair"}',
  '{"sku":"OK2","name":"a real pair \\ud83d\\ude00"}',
]
const NDJSON = JSON_ROWS.join('\n') + '\n'
const JSON_ARRAY = `[${JSON_ROWS.join(',\n')}]`

function expectRowsRejected (answer: { rowsAccepted: number, rowsRejected: number, errors: Array<{ row?: number, message: string }> }): void {
  expect(answer.rowsAccepted).toBe(2)
  expect(answer.rowsRejected).toBe(4)
  expect(answer.errors.map(e => e.row)).toEqual([2, 3, 4, 5])
  for (const e of answer.errors.slice(0, 3)) expect(e.message).toMatch(/NUL/)
  expect(answer.errors[3].message).toMatch(/surrogate|Unicode/i)
}

describe('NUL and lone surrogates in files: the row is rejected, the file lands', () => {
  let source: { id: string, secret: string }
  beforeAll(async () => {
    const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'nul inbound', role: 'INVENTORY_SOURCE', type: 'webhook', config: {} },
    })
    expect(res.statusCode, res.body).toBe(201)
    source = { id: res.json().id, secret: res.json().signingSecret }
  })

  const deliver = (body: string, contentType: string): Promise<LightMyRequestResponse> => {
    const id = `msg_${randomUUID()}`
    const timestamp = String(Math.floor(Date.now() / 1000))
    const signingKey = Buffer.from(source.secret.replace(/^whsec_/, ''), 'base64')
    const signature = 'v1,' + createHmac('sha256', signingKey).update(`${id}.${timestamp}.${body}`).digest('base64')
    return t.app.inject({
      method: 'POST',
      url: `/api/v1/inbound/${source.id}`,
      headers: { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature, 'content-type': contentType },
      payload: body,
    })
  }

  it.each([
    ['JSON', JSON_ARRAY, 'application/json'],
    ['NDJSON', NDJSON, 'application/x-ndjson'],
  ])('inbound %s: 200, each bad row rejected with its row number and reason, the others landed', async (_name, body, contentType) => {
    const res = await deliver(body, contentType)
    expect(res.statusCode, res.body).toBe(200)
    expectRowsRejected(res.json())
    const items = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${res.json().uploadId}/items`)
    expect(items.json().items.map((i: { sku: string }) => i.sku)).toEqual(['OK1', 'OK2'])
    expect(items.json().items[1].name).toBe('a real pair 😀')
  })

  it('an upload: 201 with the rejected rows', async () => {
    const { payload, headers } = multipartFile(NDJSON, { fileName: 'nul.ndjson' })
    const res = await t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: payload, headers })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json().rejectedRows.map((r: { row: number }) => r.row)).toEqual([2, 3, 4, 5])
    const rejected = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${res.json().id}`)
    expect(rejected.statusCode, rejected.body).toBe(200)
  })

  it('CSV: a lone surrogate (UTF-16 lets one through) rejects its row; a NUL byte fails the file (binary), with a 422', async () => {
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]), Buffer.from('sku,name\nC1,ok\nC2,A', 'utf16le'), Buffer.from([0x00, 0xd8]), Buffer.from('B\nC3,ok\n', 'utf16le'),
    ])
    const upload = async (bytes: Buffer, fileName: string) => {
      const { payload, headers } = multipartFile(bytes, { fileName })
      return t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: payload, headers })
    }
    const res = await upload(utf16, 'u16.csv')
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json()).toMatchObject({
      rowsAccepted: 2, rowsRejected: 1, rejectedRows: [{ row: 3, reason: expect.stringMatching(/"name" holds an unpaired UTF-16 surrogate/) }],
    })

    // in the first 64 KiB it reads as a binary file; later, as a text file that is not text (docs/security.md)
    const early = await upload(Buffer.from('sku,name\nC1,a\u0000b\n'), 'nul.csv')
    expect(early.statusCode, early.body).toBe(422)
    expect(early.json().code).toBe('UNSUPPORTED_FORMAT')
    const late = await upload(Buffer.from('sku,name\n' + 'C0,x\n'.repeat(20_000) + 'C1,a\u0000b\n'), 'nul.csv')
    expect(late.statusCode, late.body).toBe(422)
    expect(late.json()).toMatchObject({ code: 'PARSE_FAILED', message: expect.stringMatching(/NUL/) })
  })

  it('an S3 pull: the file is ingested (not failed and retried on every pull), its bad rows rejected', async () => {
    await w.put('nul/items.ndjson', NDJSON)
    await w.put('nul/items.json', JSON_ARRAY)
    const sourceId = await w.newSource('nul/')
    const sync = await pullSource(t.runtime.deps, { sourceId, trigger: 'manual' })
    expect(sync.status).toBe('succeeded')
    const entries = Object.fromEntries(sync.manifest.map((e: ManifestEntry) => [e.key, e]))
    for (const key of ['nul/items.ndjson', 'nul/items.json']) {
      expect(entries[key]).toMatchObject({ status: 'ingested', rowsAccepted: 2, rowsRejected: 4 })
      expect(entries[key].errors?.map(e => e.row)).toEqual([2, 3, 4, 5])
    }
    // in the ledger: the next pull has nothing to do
    expect((await pullSource(t.runtime.deps, { sourceId, trigger: 'manual' })).manifest).toEqual([])
  })
})

describe('API strings with NUL or a lone surrogate: 400, whatever the route', () => {
  let sourceId: string
  let secretId: string
  beforeAll(async () => {
    sourceId = await w.newSource('api/')
    secretId = w.secretId
  })

  const bad = ['a\u0000b', 'half \ud800']
  const cases: Array<[string, string, () => string, (s: string) => unknown]> = [
    ['agent name', 'POST', () => '/api/v1/agents', s => ({ name: s })],
    ['agent timezone', 'POST', () => '/api/v1/agents', s => ({ name: 'tz', timezone: s })],
    ['agent rename', 'PATCH', () => `/api/v1/agents/${agentId}`, s => ({ name: s })],
    ['mapping fieldMap', 'PATCH', () => `/api/v1/agents/${agentId}`, s => ({ mapping: { fieldMap: { sku: s } } })],
    ['mapping output column', 'PATCH', () => `/api/v1/agents/${agentId}`, s => ({ mapping: { output: [{ column: s, from: 'sku' }] } })],
    ['source name', 'POST', () => `/api/v1/agents/${agentId}/data-sources`, s => ({ name: s, role: 'INVENTORY_SOURCE', type: 'webhook', config: {} })],
    ['source prefix', 'PATCH', () => `/api/v1/agents/${agentId}/data-sources/${sourceId}`, s => ({ config: { prefix: s } })],
    ['sink url', 'POST', () => `/api/v1/agents/${agentId}/data-sources`,
      s => ({ name: 'sink', role: 'RESULTS_SINK', type: 'webhook', config: { url: `https://example.com/${s}` } })],
    ['secret name', 'POST', () => '/api/v1/secrets', s => ({ name: s, type: 'webhook' })],
    ['secret rename', 'PATCH', () => `/api/v1/secrets/${secretId}`, s => ({ name: s })],
    ['api-key name', 'POST', () => '/api/v1/api-keys', s => ({ name: s })],
    ['organisation name', 'POST', () => '/api/v1/admin/orgs', s => ({ name: s })],
    ['channel url', 'POST', () => `/api/v1/agents/${agentId}/channels`, s => ({ type: 'webhook', config: { url: `https://example.com/${s}` } })],
    ['a key of a source\'s config', 'PATCH', () => `/api/v1/agents/${agentId}/data-sources/${sourceId}`, s => ({ config: { [s]: 'x' } })],
    ['a secret value (the field is named, the value and its keys are not echoed)', 'PATCH', () => `/api/v1/secrets/${secretId}`,
      s => ({ value: { accessKeyId: `AKIA${s}`, secretAccessKey: 'x' } })],
  ]
  for (const [name, method, url, body] of cases) {
    it(name, async () => {
      for (const s of bad) {
        const res = await t.api(method, url(), { body: body(s) })
        expect(res.statusCode, `${JSON.stringify(s)}: ${res.body}`).toBe(400)
        expect(res.json().code).toBe('VALIDATION_FAILED')
        expect(res.body).not.toContain('\\u0000')
        expect(res.body).not.toContain('\\ud800')
        expect(res.body).not.toContain('AKIA')
      }
    })
  }

  it('in a query string and in a path', async () => {
    const list = await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sourceId}/syncs?status=%00`)
    expect(list.statusCode, list.body).toBe(400)
    const path = await t.api('GET', `/api/v1/agents/${agentId}/data-sources/%00`)
    expect(path.statusCode, path.body).toBeLessThan(500)
  })

  it('the same strings without the NUL are accepted (the check is not a blanket refusal)', async () => {
    expect((await t.api('POST', '/api/v1/agents', { body: { name: 'ab ✓ 😀' } })).statusCode).toBe(201)
  })
})

describe('broken multipart bodies: 400, not 500', () => {
  const upload = (payload: string | Buffer, contentType: string) =>
    t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: payload, headers: { 'content-type': contentType } })

  it.each([
    ['no boundary', 'x', 'multipart/form-data'],
    ['an empty boundary', 'x', 'multipart/form-data; boundary='],
    ['unterminated', '--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nsku\nA1\n', 'multipart/form-data; boundary=b'],
    ['no part at all', '--b--\r\n', 'multipart/form-data; boundary=b'],
    ['headers never end', '--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"', 'multipart/form-data; boundary=b'],
    ['garbage', Buffer.from([0, 1, 2, 3, 255]).toString('latin1'), 'multipart/form-data; boundary=b'],
  ])('%s', async (_name, payload, contentType) => {
    const res = await upload(payload, contentType)
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400)
    expect(res.statusCode, res.body).toBeLessThan(500)
    expect(res.json().code).toMatch(/VALIDATION_FAILED|UNSUPPORTED_MEDIA_TYPE/)
  })
})
