import { execFile } from 'node:child_process'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import ExcelJS from 'exceljs'
import type { LightMyRequestResponse } from 'fastify'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processTempDir } from '../../src/inbound/spool.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../..')
const MiB = 1024 * 1024
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

// Temp files of deliveries go to this process's directory under $FERRY_DATA_DIR/tmp (src/inbound/spool.ts),
// so the test can check their mode and that none is left behind.
const spoolDir = () => processTempDir(t.dataDir)
const spoolFiles = async () => (await fs.readdir(spoolDir()).catch(() => [])).filter(name => name.startsWith('ferry-spool-'))

let t: TestApp
let agentId: string
/** every response body except the one creation answer that carries the secret (canary check) */
const responses: string[] = []
/** every signing secret handed out by a creation answer */
const secrets: string[] = []

interface Source { id: string, secret: string }

const createInbound = async (name: string, options: { key?: string, agent?: string } = {}): Promise<Source> => {
  const res = await t.api('POST', `/api/v1/agents/${options.agent ?? agentId}/data-sources`, {
    key: options.key, body: { name, role: 'INVENTORY_SOURCE', type: 'webhook', config: {} },
  })
  expect(res.statusCode, res.body).toBe(201)
  expect(res.json().signingSecret).toMatch(/^whsec_/)
  secrets.push(res.json().signingSecret)
  return { id: res.json().id, secret: res.json().signingSecret }
}

const api = async (method: string, url: string, options?: Parameters<TestApp['api']>[2]) => {
  const res = await t.api(method, url, options)
  responses.push(res.body)
  return res
}

const sign = (secret: string, id: string, timestamp: number | string, body: Buffer): string =>
  'v1,' + createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(`${id}.${timestamp}.`).update(body).digest('base64')

const now = () => Math.floor(Date.now() / 1000)

interface DeliverOptions {
  id?: string
  timestamp?: number | string
  contentType?: string
  fileName?: string
  /** overrides the computed signature header */
  signature?: string
  /** the secret to sign with (default: the source's) */
  signWith?: string
  /** headers to add or (undefined) remove */
  headers?: Record<string, string | undefined>
  /** sign these bytes but send `body` */
  signedBody?: Buffer
}

function signedHeaders (source: Source, body: Buffer, o: DeliverOptions = {}): Record<string, string> {
  const id = o.id ?? `msg_${randomUUID()}`
  const timestamp = o.timestamp ?? now()
  const headers: Record<string, string | undefined> = {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': o.signature ?? sign(o.signWith ?? source.secret, id, timestamp, o.signedBody ?? body),
    'content-type': o.contentType ?? 'text/csv',
    ...(o.fileName ? { 'x-file-name': o.fileName } : {}),
    ...o.headers,
  }
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>
}

async function deliver (source: Source | string, body: Buffer | string, o: DeliverOptions = {}): Promise<LightMyRequestResponse> {
  const s = typeof source === 'string' ? { id: source, secret: 'whsec_' + randomBytes(24).toString('base64') } : source
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body)
  const res = await t.app.inject({ method: 'POST', url: `/api/v1/inbound/${s.id}`, headers: signedHeaders(s, bytes, o), payload: bytes })
  responses.push(res.body)
  return res
}

const countsOf = async (sourceId: string) => {
  const { rows } = await t.database.db.query<{ uploads: number, rows: number, syncs: number }>(
    `SELECT (SELECT count(*)::int FROM inventory_uploads WHERE source_id = $1) AS uploads,
            (SELECT coalesce(sum(rows_accepted), 0)::int FROM inventory_uploads WHERE source_id = $1) AS rows,
            (SELECT count(*)::int FROM syncs WHERE source_id = $1) AS syncs`, [sourceId])
  return rows[0]
}

const itemsOf = async (uploadId: string) =>
  (await api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${uploadId}/items`)).json().items as Array<{ sku: string, quantity: number | null }>

const xlsxOf = async (rows: unknown[][]): Promise<Buffer> => {
  const wb = new ExcelJS.Workbook()
  const ws = wb.addWorksheet('Stock')
  for (const r of rows) ws.addRow(r)
  return Buffer.from(await wb.xlsx.writeBuffer())
}

beforeAll(async () => {
  t = await createTestApp({ env: { FERRY_INBOUND_RATE_LIMIT_PER_MINUTE: '1000' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'pushed' } })).json().id
})
afterAll(async () => {
  await t?.close()
})

describe('inbound webhook: good deliveries', () => {
  let source: Source
  beforeAll(async () => { source = await createInbound('formats') })

  const cases: Array<{ name: string, body: () => Promise<Buffer> | Buffer, contentType: string, fileName?: string, format: string, skus: string[] }> = [
    {
      name: 'CSV',
      body: () => Buffer.from('sku,quantity,price\nA1,3,9.5\nA2,4,1\n'),
      contentType: 'text/csv; charset=utf-8',
      format: 'csv',
      skus: ['A1', 'A2'],
    },
    {
      name: 'JSON',
      body: () => Buffer.from('[{"sku":"J1","quantity":1},{"sku":"J2","quantity":"2"}]'),
      contentType: 'application/json',
      format: 'json',
      skus: ['J1', 'J2'],
    },
    {
      name: 'NDJSON',
      body: () => Buffer.from('{"sku":"N1","quantity":5}\n{"sku":"N2"}\n'),
      contentType: 'application/x-ndjson',
      format: 'ndjson',
      skus: ['N1', 'N2'],
    },
    { name: 'XLSX', body: () => xlsxOf([['SKU', 'Quantity'], ['X1', 7], ['X2', 8]]), contentType: XLSX_TYPE, format: 'xlsx', skus: ['X1', 'X2'] },
    {
      name: 'gzip (application/gzip, name from X-File-Name)',
      body: () => gzipSync('sku,quantity\nG1,1\nG2,2\n'),
      contentType: 'application/gzip',
      fileName: 'stock.csv.gz',
      format: 'csv',
      skus: ['G1', 'G2'],
    },
    {
      name: 'gzip NDJSON sent as octet-stream (detected by content)',
      body: () => gzipSync('{"sku":"O1"}\n{"sku":"O2"}\n'),
      contentType: 'application/octet-stream',
      format: 'ndjson',
      skus: ['O1', 'O2'],
    },
  ]
  for (const c of cases) {
    it(`lands ${c.name} as a webhook sync with one manifest entry`, async () => {
      const body = await c.body()
      const before = await countsOf(source.id)
      const res = await deliver(source, body, { contentType: c.contentType, fileName: c.fileName })
      expect(res.statusCode, res.body).toBe(200)
      const answer = res.json()
      expect(answer).toMatchObject({
        status: 'succeeded', duplicate: false, format: c.format, bytes: body.length, rowsAccepted: c.skus.length, rowsRejected: 0, errors: [],
      })
      expect((await itemsOf(answer.uploadId)).map(i => i.sku)).toEqual(c.skus)

      const sync = (await api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs/${answer.syncId}`)).json()
      expect(sync).toMatchObject({
        direction: 'inbound', trigger: 'webhook', status: 'succeeded', filesCount: 1, bytes: body.length, rowsAccepted: c.skus.length,
      })
      expect(sync.manifest).toHaveLength(1)
      expect(sync.manifest[0]).toMatchObject({ status: 'ingested', uploadId: answer.uploadId, format: c.format, size: body.length, key: answer.fileName })
      expect(await countsOf(source.id)).toEqual({ uploads: before.uploads + 1, rows: before.rows + c.skus.length, syncs: before.syncs + 1 })
    })
  }

  it('counts rejected rows and still lands the file (200 with the first errors)', async () => {
    const res = await deliver(source, 'sku,quantity\nR1,1\n,2\nR3,lots\n')
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ status: 'succeeded', rowsAccepted: 1, rowsRejected: 2 })
    expect(res.json().errors.map((e: { row: number }) => e.row)).toEqual([3, 4])
  })

  it('records a refused file as a failed sync and answers 422 with its id', async () => {
    const before = await countsOf(source.id)
    const id = `msg_${randomUUID()}`
    const res = await deliver(source, '[{"sku": "broken"', { contentType: 'application/json', id })
    expect(res.statusCode, res.body).toBe(422)
    expect(res.json()).toMatchObject({ code: 'PARSE_FAILED', details: { status: 'failed', duplicate: false } })
    const { syncId, uploadId } = res.json().details
    const sync = (await api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs/${syncId}`)).json()
    expect(sync).toMatchObject({ trigger: 'webhook', status: 'failed', error: { code: 'PARSE_FAILED' }, rowsAccepted: 0 })
    expect(sync.manifest[0]).toMatchObject({ status: 'rejected', uploadId })
    expect(await countsOf(source.id)).toMatchObject({ rows: before.rows, syncs: before.syncs + 1 })

    // the replay answers as the original did, and records nothing new
    const again = await deliver(source, '[{"sku": "broken"', { contentType: 'application/json', id })
    expect(again.statusCode).toBe(422)
    expect(again.json().details).toMatchObject({ syncId, duplicate: true })
    expect((await countsOf(source.id)).syncs).toBe(before.syncs + 1)

    const empty = await deliver(source, '', { contentType: 'text/csv' })
    expect(empty.statusCode, empty.body).toBe(422)
    expect(empty.json().code).toBe('EMPTY_FILE')
  })

  it('names the file from a sanitised X-File-Name', async () => {
    for (const [sent, expected] of [
      ['../../etc/passwd.csv', 'passwd.csv'],
      ['C:\\exports\\stock.csv', 'stock.csv'],
      ['caf%C3%A9%20stock.csv', 'café stock.csv'],
      ['evil\u202Egpj.csv', 'evilgpj.csv'],
      ['...', 'inbound.csv'],
    ]) {
      const res = await deliver(source, 'sku\nF1\n', { fileName: sent })
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json().fileName, sent).toBe(expected)
    }
  })

  it('accepts several signatures if any verifies (secret rotation)', async () => {
    const body = Buffer.from('sku\nROT1\n')
    const id = `msg_${randomUUID()}`
    const ts = now()
    const old = sign('whsec_' + randomBytes(32).toString('base64'), id, ts, body)
    const good = sign(source.secret, id, ts, body)
    const res = await deliver(source, body, { id, timestamp: ts, signature: `${old} v1a,${randomBytes(64).toString('base64')} v2,xyz ${good}` })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json().rowsAccepted).toBe(1)
  })

  it('accepts a delivery signed by the standardwebhooks library', async () => {
    const body = 'sku,name\nLIB1,Caf\u00e9 cr\u00e8me\n'
    const id = `msg_${randomUUID()}`
    const date = new Date()
    const signature = new Webhook(source.secret).sign(id, date, body)
    const res = await deliver(source, body, { id, timestamp: Math.floor(date.getTime() / 1000), signature })
    expect(res.statusCode, res.body).toBe(200)
  })

  it('passes a webhook source\'s configured format to the pipeline', async () => {
    const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'ndjson only', role: 'INVENTORY_SOURCE', type: 'webhook', config: { format: 'ndjson' } },
    })
    const s = { id: res.json().id, secret: res.json().signingSecret }
    const ok = await deliver(s, '{"sku":"C1"}\n', { contentType: 'text/csv', fileName: 'x.csv' })
    expect(ok.json()).toMatchObject({ format: 'ndjson', rowsAccepted: 1 })
  })
})

describe('inbound webhook: signatures', () => {
  let source: Source
  let other: Source
  beforeAll(async () => {
    source = await createInbound('signatures')
    other = await createInbound('another source')
  })

  const body = Buffer.from('sku,quantity\nS1,1\n')
  const refusals: Array<[string, () => DeliverOptions, RegExp]> = [
    ['no signature headers', () => ({ headers: { 'webhook-id': undefined, 'webhook-timestamp': undefined, 'webhook-signature': undefined } }), /missing/],
    ['no webhook-signature', () => ({ headers: { 'webhook-signature': undefined } }), /webhook-signature header is missing/],
    ['a made-up signature', () => ({ signature: `v1,${randomBytes(32).toString('base64')}` }), /No signature/],
    ['a signature that is not base64', () => ({ signature: 'v1,@@@not base64@@@' }), /no "v1,/],
    ['only a v1a signature', () => ({ signature: `v1a,${randomBytes(64).toString('base64')}` }), /no "v1,/],
    ['the wrong secret (another source\'s)', () => ({ signWith: other.secret }), /No signature/],
    ['a timestamp 6 minutes old', () => ({ timestamp: now() - 6 * 60 }), /more than 5 minutes old/],
    ['a timestamp 6 minutes ahead', () => ({ timestamp: now() + 6 * 60 }), /in the future/],
    ['a timestamp that is not Unix seconds', () => ({ timestamp: new Date().toISOString() }), /Unix seconds/],
    ['a body altered after signing', () => ({ signedBody: Buffer.from('sku,quantity\nS1,9999\n') }), /No signature/],
    ['a body with one byte appended', () => ({ signedBody: body.subarray(0, body.length - 1) }), /No signature/],
    ['a webhook-id with a dot', () => ({ id: 'msg.1' }), /without "\."/],
  ]
  for (const [name, options, message] of refusals) {
    it(`refuses ${name} with 401 and ingests nothing`, async () => {
      const before = await countsOf(source.id)
      const res = await deliver(source, body, options())
      expect(res.statusCode, res.body).toBe(401)
      expect(res.json().code).toBe('WEBHOOK_SIGNATURE_INVALID')
      expect(res.json().message).toMatch(message)
      expect(await countsOf(source.id)).toEqual(before)
    })
  }

  it('signs the id and timestamp too: a valid signature moved to another id or time is refused', async () => {
    const ts = now()
    const signature = sign(source.secret, 'msg_original', ts, body)
    expect((await deliver(source, body, { id: 'msg_other', timestamp: ts, signature })).statusCode).toBe(401)
    expect((await deliver(source, body, { id: 'msg_original', timestamp: ts - 1, signature })).statusCode).toBe(401)
    expect((await deliver(source, body, { id: 'msg_original', timestamp: ts, signature })).statusCode).toBe(200)
  })

  it('accepts timestamps inside the 5-minute window on both sides', async () => {
    expect((await deliver(source, body, { timestamp: now() - 4 * 60 })).statusCode).toBe(200)
    expect((await deliver(source, body, { timestamp: now() + 4 * 60 })).statusCode).toBe(200)
  })
})

describe('inbound webhook: idempotency', () => {
  let source: Source
  beforeAll(async () => { source = await createInbound('idempotency') })

  it('answers a replayed webhook-id with the original sync and ingests nothing twice', async () => {
    const id = `msg_${randomUUID()}`
    const first = await deliver(source, 'sku,quantity\nD1,1\nD2,2\n', { id })
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json().duplicate).toBe(false)
    const after = await countsOf(source.id)

    // a retry re-signed with a fresh timestamp, as senders do, and even with other bytes: the id decides
    const replay = await deliver(source, 'sku,quantity\nD1,1\nD2,2\n', { id, timestamp: now() - 60 })
    const changed = await deliver(source, 'sku,quantity\nZZ,1\n', { id })
    for (const res of [replay, changed]) {
      expect(res.statusCode, res.body).toBe(200)
      expect(res.json()).toMatchObject({ ...first.json(), duplicate: true })
    }
    expect(await countsOf(source.id)).toEqual(after)
    expect(after).toMatchObject({ uploads: 1, rows: 2, syncs: 1 })

    // a replay must still be signed: an unsigned one learns nothing
    const forged = await deliver(source, 'x', { id, signature: `v1,${randomBytes(32).toString('base64')}` })
    expect(forged.statusCode).toBe(401)
    expect(forged.body).not.toContain(first.json().syncId)
  })

  it('the same webhook-id on another source is a different delivery', async () => {
    const id = `msg_${randomUUID()}`
    const other = await createInbound('idempotency 2')
    expect((await deliver(source, 'sku\nP1\n', { id })).json().duplicate).toBe(false)
    expect((await deliver(other, 'sku\nP1\n', { id })).json().duplicate).toBe(false)
  })

  it('lets only one of two concurrent identical deliveries ingest', async () => {
    const s = await createInbound('concurrent')
    const id = `msg_${randomUUID()}`
    const body = Buffer.from('sku,quantity\n' + Array.from({ length: 2000 }, (_, i) => `C${i},${i}`).join('\n') + '\n')
    const headers = signedHeaders(s, body, { id })
    const send = () => t.app.inject({ method: 'POST', url: `/api/v1/inbound/${s.id}`, headers, payload: body })
    const answers = await Promise.all([send(), send(), send()])
    for (const a of answers) expect(a.statusCode, a.body).toBe(200)
    expect(answers.filter(a => a.json().duplicate === false)).toHaveLength(1)
    expect(new Set(answers.map(a => a.json().syncId)).size).toBe(1)
    expect(await countsOf(s.id)).toEqual({ uploads: 1, rows: 2000, syncs: 1 })
  })

  it('keeps webhook-ids at least 7 days, then forgets them', async () => {
    const s = await createInbound('retention')
    const recent = `msg_${randomUUID()}`
    const old = `msg_${randomUUID()}`
    await deliver(s, 'sku\nR1\n', { id: recent })
    await deliver(s, 'sku\nR2\n', { id: old })
    await t.database.db.query(`UPDATE inbound_deliveries SET received_at = now() - interval '6 days 23 hours' WHERE webhook_id = $1`, [recent])
    await t.database.db.query(`UPDATE inbound_deliveries SET received_at = now() - interval '7 days 1 hour' WHERE webhook_id = $1`, [old])
    // any new delivery purges the source's expired ids
    await deliver(s, 'sku\nR3\n')
    const { rows } = await t.database.db.query<{ webhook_id: string }>('SELECT webhook_id FROM inbound_deliveries WHERE source_id = $1', [s.id])
    expect(rows.map(r => r.webhook_id)).toContain(recent)
    expect(rows.map(r => r.webhook_id)).not.toContain(old)
    expect((await deliver(s, 'sku\nR1\n', { id: recent })).json().duplicate).toBe(true)
  })
})

describe('inbound webhook: refusals that reveal nothing', () => {
  let source: Source
  let otherKey: string
  let otherSource: Source
  beforeAll(async () => {
    source = await createInbound('refusals')
    otherKey = await t.newOrg('other org')
    const otherAgent = (await t.api('POST', '/api/v1/agents', { key: otherKey, body: { name: 'theirs' } })).json().id
    otherSource = await createInbound('their source', { key: otherKey, agent: otherAgent })
  })

  it('answers unknown, malformed, disabled, non-webhook and another organisation\'s sources with the same 404', async () => {
    const aws = await t.api('POST', '/api/v1/secrets', {
      body: { name: 'aws for 404', type: 'aws', value: { accessKeyId: 'AKIAEXAMPLEEXAMPLE', secretAccessKey: 'x'.repeat(40) } },
    })
    const s3 = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: {
        name: 's3', role: 'INVENTORY_SOURCE', type: 's3', config: { bucket: 'some-bucket', region: 'us-east-1', secretRef: aws.json().id }, validate: false,
      },
    })
    expect(s3.statusCode, s3.body).toBe(201)
    const disabled = await createInbound('disabled')
    expect((await t.api('PATCH', `/api/v1/agents/${agentId}/data-sources/${disabled.id}`, { body: { enabled: false } })).statusCode).toBe(200)

    const refusals = [
      await deliver({ id: randomUUID(), secret: source.secret }, 'sku\nU1\n'),
      await deliver({ id: 'not-a-uuid', secret: source.secret }, 'sku\nU1\n'),
      await deliver({ id: '00000000-0000-0000-0000-000000000000', secret: source.secret }, 'sku\nU1\n'),
      await deliver(disabled, 'sku\nU1\n'),
      await deliver({ id: s3.json().id, secret: source.secret }, 'sku\nU1\n'),
      // their source, correctly signed, but sent with our API key: not ours to address
      await deliver(otherSource, 'sku\nU1\n', { headers: { authorization: `Bearer ${t.adminKey}` } }),
    ]
    for (const res of refusals) {
      expect(res.statusCode, res.body).toBe(404)
      expect(res.body).toBe(refusals[0].body)
      expect(res.headers['content-type']).toBe(refusals[0].headers['content-type'])
    }
    expect(refusals[0].json()).toEqual({ code: 'NOT_FOUND', message: 'Not found.' })
    expect(await countsOf(disabled.id)).toEqual({ uploads: 0, rows: 0, syncs: 0 })
    expect(await countsOf(otherSource.id)).toEqual({ uploads: 0, rows: 0, syncs: 0 })
  })

  it('needs the signature of the source\'s own secret: another organisation\'s secret does not open it', async () => {
    const res = await deliver(otherSource, 'sku\nX1\n', { signWith: source.secret })
    expect(res.statusCode).toBe(401)
    expect(await countsOf(otherSource.id)).toEqual({ uploads: 0, rows: 0, syncs: 0 })
    // with its own secret (and its own organisation's key, or none) it is accepted
    expect((await deliver(otherSource, 'sku\nX1\n', { headers: { authorization: `Bearer ${otherKey}` } })).statusCode).toBe(200)
    expect((await deliver(otherSource, 'sku\nX2\n')).statusCode).toBe(200)
  })

  it('refuses an invalid API key sent along', async () => {
    const res = await deliver(source, 'sku\nK1\n', { headers: { authorization: 'Bearer fy_not_a_key' } })
    expect(res.statusCode).toBe(401)
    expect(res.json().code).toBe('UNAUTHORIZED')
  })

  it('answers 415 to content types it does not take', async () => {
    for (const contentType of ['text/html', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'image/png']) {
      const res = await deliver(source, 'sku\nT1\n', { contentType })
      expect(res.statusCode, contentType).toBe(415)
      expect(res.json().code).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
    const missing = await deliver(source, 'sku\nT1\n', { headers: { 'content-type': undefined } })
    expect(missing.statusCode).toBe(415)
    const brotli = await deliver(source, 'sku\nT1\n', { headers: { 'content-encoding': 'br' } })
    expect(brotli.statusCode).toBe(415)
    expect(await countsOf(source.id)).toEqual({ uploads: 0, rows: 0, syncs: 0 })
  })

  it('answers 413 to a declared Content-Length over the limit', async () => {
    const res = await t.app.inject({
      method: 'POST', url: `/api/v1/inbound/${source.id}`,
      headers: { ...signedHeaders(source, Buffer.from('x')), 'content-length': String(t.config.inboundMaxBytes + 1) },
      payload: 'x',
    })
    expect(res.statusCode).toBe(413)
    expect(res.json().code).toBe('PAYLOAD_TOO_LARGE')
    expect(res.headers.connection).toBe('close')
  })

  it('is public: the route is not behind bearer auth, and the OpenAPI document says so', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json()
    const op = doc.paths['/api/v1/inbound/{sourceId}'].post
    expect(op.security).toEqual([])
    expect(op.responses['200']).toBeDefined()
  })
})

describe('inbound webhook: test endpoint', () => {
  it('checks the secret and reports the last delivery, or that none came', async () => {
    const s = await createInbound('tested')
    const test = async () => (await api('POST', `/api/v1/agents/${agentId}/data-sources/${s.id}/test`)).json()

    const fresh = await test()
    expect(fresh.ok).toBe(true)
    expect(fresh.checks.map((c: { name: string }) => c.name)).toEqual(['signing secret', 'enabled', 'last delivery'])
    expect(fresh.checks[2].message).toMatch(/No delivery received yet/)

    const id = `msg_${randomUUID()}`
    const res = await deliver(s, 'sku\nL1\n,nosku\n', { id })
    expect(res.statusCode).toBe(200)
    const after = await test()
    expect(after.ok).toBe(true)
    expect(after.checks[2].message).toContain(id)
    expect(after.checks[2].message).toMatch(/succeeded, 1 row accepted, 1 rejected/)

    await deliver(s, '', {})
    expect((await test()).checks[2].message).toMatch(/the file was refused: .*empty/)

    await t.api('PATCH', `/api/v1/agents/${agentId}/data-sources/${s.id}`, { body: { enabled: false } })
    const disabled = await test()
    expect(disabled.ok).toBe(false)
    expect(disabled.checks.find((c: { name: string }) => c.name === 'enabled')).toMatchObject({ ok: false, message: expect.stringMatching(/disabled/) })
    // a read-only check: no sync was recorded by testing
    expect((await countsOf(s.id)).syncs).toBe(2)
  })
})

// ---------------------------------------------------------------------------------------------
// over a real socket

let baseUrl: string
const listen = async () => {
  if (baseUrl) return baseUrl
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const address = t.app.server.address()
  if (!address || typeof address === 'string') throw new Error('not listening on TCP')
  baseUrl = `http://127.0.0.1:${address.port}`
  return baseUrl
}

interface StreamedAnswer { status: number, body: string, headers: http.IncomingHttpHeaders, sentBytes: number }

/** POSTs chunks over a socket; resolves on the answer and stops sending then. */
function postStream (url: string, headers: Record<string, string>, chunks: () => AsyncGenerator<Buffer> | Generator<Buffer>): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    let sentBytes = 0
    let answered = false
    const req = http.request(url, { method: 'POST', headers, agent: false })
    req.on('response', (res) => {
      answered = true
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), headers: res.headers, sentBytes })
        req.destroy()
      })
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), headers: res.headers, sentBytes }))
    })
    req.on('error', (err) => { if (!answered) reject(err) })
    const source = Readable.from((async function * () {
      for await (const c of chunks()) {
        if (answered) return
        sentBytes += c.length
        yield c
      }
    })())
    source.on('error', () => {})
    source.pipe(req)
  })
}

const sampleRss = () => {
  const base = process.memoryUsage().rss
  let peak = base
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 5)
  return { stop: () => { clearInterval(timer); return { base, growth: Math.max(peak, process.memoryUsage().rss) - base } } }
}

describe('inbound webhook: streaming over a real socket', () => {
  let source: Source
  beforeAll(async () => {
    await listen()
    source = await createInbound('socket')
  })

  it('refuses a 101 MiB chunked body with 413 as it crosses the limit, without holding it', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a') // one buffer, sent again and again: the client holds 64 KiB
    const total = 101 * MiB
    const rss = sampleRss()
    const headers = signedHeaders(source, Buffer.alloc(0), { contentType: 'text/csv' })
    const answer = await postStream(`${baseUrl}/api/v1/inbound/${source.id}`, headers, function * () {
      for (let sent = 0; sent < total; sent += chunk.length) yield chunk
    })
    const { base, growth } = rss.stop()
    expect(answer.status, answer.body).toBe(413)
    expect(JSON.parse(answer.body).code).toBe('PAYLOAD_TOO_LARGE')
    expect(answer.headers.connection).toBe('close')
    expect(answer.sentBytes).toBeGreaterThan(t.config.inboundMaxBytes)
    // 100 MiB went through the HMAC and the temp file; the process (sender included) grew by less than the
    // body: 36–68 MiB measured on a loaded 2-core machine, depending on when the garbage collector runs
    expect(growth, `RSS ${Math.round(base / MiB)} MiB grew by ${Math.round(growth / MiB)} MiB`).toBeLessThan(80 * MiB)
    console.log(`chunked 101 MiB: RSS ${Math.round(base / MiB)} MiB, growth ${(growth / MiB).toFixed(1)} MiB`)
    expect(await countsOf(source.id)).toEqual({ uploads: 0, rows: 0, syncs: 0 })
    expect(await spoolFiles()).toEqual([])
  }, 120_000)

  it('stops reading a body that would never end once it crosses the limit', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'c')
    const bound = 1024 * MiB // the client gives up after 1 GiB: the server must have answered long before
    const headers = signedHeaders(source, Buffer.alloc(0), { contentType: 'text/csv' })
    const answer = await postStream(`${baseUrl}/api/v1/inbound/${source.id}`, headers, function * () {
      for (let sent = 0; sent < bound; sent += chunk.length) yield chunk
    })
    expect(answer.status, answer.body).toBe(413)
    expect(answer.sentBytes).toBeLessThan(t.config.inboundMaxBytes + 64 * MiB)
    expect(await spoolFiles()).toEqual([])
  }, 120_000)

  it('refuses a 101 MiB body by its Content-Length before reading it', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'b')
    const total = 101 * MiB
    const rss = sampleRss()
    const answer = await postStream(`${baseUrl}/api/v1/inbound/${source.id}`,
      { ...signedHeaders(source, Buffer.alloc(0), { contentType: 'text/csv' }), 'content-length': String(total) },
      function * () { for (let sent = 0; sent < total; sent += chunk.length) yield chunk })
    const { growth } = rss.stop()
    console.log(`declared 101 MiB: growth ${(growth / MiB).toFixed(1)} MiB, sent ${(answer.sentBytes / MiB).toFixed(1)} MiB`)
    expect(answer.status, answer.body).toBe(413)
    expect(answer.sentBytes).toBeLessThan(total / 2)
    expect(growth).toBeLessThan(60 * MiB)
  }, 120_000)

  it('streams a body to a private temp file (mode 0600) and removes it afterwards', async () => {
    const rows = Array.from({ length: 5_000 }, (_, i) => `SKU-${i},${i % 97},${(i % 1000) / 10}`)
    const body = Buffer.from('sku,quantity,price\n' + rows.join('\n') + '\n')
    const half = Math.floor(body.length / 2)
    let seen: { name: string, mode: number } | null = null
    const answer = await postStream(`${baseUrl}/api/v1/inbound/${source.id}`, signedHeaders(source, body, { fileName: 'big.csv' }), async function * () {
      yield body.subarray(0, half)
      // hold the rest back until the first half is on disk
      for (let i = 0; i < 500 && !seen; i++) {
        const names = await spoolFiles()
        if (names.length) seen = { name: names[0], mode: (await fs.stat(path.join(spoolDir(), names[0]))).mode & 0o777 }
        else await new Promise(resolve => setTimeout(resolve, 10))
      }
      yield body.subarray(half)
    })
    expect(answer.status, answer.body).toBe(200)
    expect(JSON.parse(answer.body)).toMatchObject({ status: 'succeeded', rowsAccepted: 5_000, bytes: body.length, fileName: 'big.csv' })
    expect(seen).not.toBeNull()
    expect(seen!.name).toMatch(/^ferry-spool-/)
    expect(seen!.mode).toBe(0o600)
    expect(await spoolFiles()).toEqual([])
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// the recipe, executed as written

const recipe = await fs.readFile(path.join(ROOT, 'docs/recipes/push-inventory-to-ferry.md'), 'utf8')
const codeBlock = (lang: string, marker: string): string => {
  const blocks = [...recipe.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map(m => m[1])
  const block = blocks.find(b => b.includes(marker))
  if (!block) throw new Error(`no ${lang} block with "${marker}" in the recipe`)
  return block
}

describe('docs/recipes/push-inventory-to-ferry.md', () => {
  let source: Source
  let work: string
  beforeAll(async () => {
    await listen()
    source = await createInbound('recipe')
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'recipe-'))
  })
  afterAll(async () => { await fs.rm(work, { recursive: true, force: true }) })

  const env = (file: string, secret = source.secret) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, FERRY_URL: baseUrl, FERRY_SOURCE_ID: source.id, FERRY_SECRET: secret, FILE: file,
  })

  it('the curl + openssl script delivers CSV and XLSX files', async () => {
    const script = path.join(work, 'push-to-ferry.sh')
    await fs.writeFile(script, codeBlock('bash', 'push-to-ferry.sh'))
    const csv = path.join(work, 'stock.csv')
    await fs.writeFile(csv, 'sku,quantity\nBASH1,5\nBASH2,6\n')
    const xlsx = path.join(work, 'stock.xlsx')
    await fs.writeFile(xlsx, await xlsxOf([['sku', 'quantity'], ['BASHX', 1]]))

    const fromCsv = await run('bash', [script], { env: env(csv) })
    const answer = JSON.parse(fromCsv.stdout)
    expect(answer).toMatchObject({ status: 'succeeded', duplicate: false, fileName: 'stock.csv', rowsAccepted: 2 })
    expect((await itemsOf(answer.uploadId)).map(i => i.sku)).toEqual(['BASH1', 'BASH2'])

    const fromXlsx = JSON.parse((await run('bash', [script], { env: env(xlsx) })).stdout)
    expect(fromXlsx).toMatchObject({ status: 'succeeded', format: 'xlsx', rowsAccepted: 1 })

    // with the wrong secret the script fails and shows Ferry's answer
    const wrong = await run('bash', [script], { env: env(csv, 'whsec_' + randomBytes(24).toString('base64')) }).catch(e => e)
    expect(wrong.code).not.toBe(0)
    expect(wrong.stdout).toContain('WEBHOOK_SIGNATURE_INVALID')
    expect(await countsOf(source.id)).toMatchObject({ uploads: 2, rows: 3 })
  }, 60_000)

  it('the Node snippet delivers text (UTF-8 or not) and binary files', async () => {
    // inside the repository, as a reader would run it next to their files
    const dir = path.join(ROOT, 'test-output')
    await fs.mkdir(dir, { recursive: true })
    const script = path.join(dir, `push-to-ferry-${randomUUID()}.mjs`)
    await fs.writeFile(script, codeBlock('js', 'push-to-ferry.mjs'))
    try {
      const csv = path.join(work, 'node.csv')
      await fs.writeFile(csv, 'sku,name\nNODE1,Café\n')
      const gz = path.join(work, 'node.ndjson.gz')
      await fs.writeFile(gz, gzipSync('{"sku":"NODEGZ"}\n'))
      // a CSV saved by Excel in windows-1252: "é" is the byte 0xE9, not UTF-8; the signature must cover the bytes as sent
      const latin1 = path.join(work, 'node-1252.csv')
      await fs.writeFile(latin1, Buffer.from('sku,name\nNODE1252,Caf\xe9\n', 'latin1'))
      for (const [file, sku] of [[csv, 'NODE1'], [gz, 'NODEGZ'], [latin1, 'NODE1252']]) {
        const { stdout } = await run(process.execPath, [script], { env: env(file) })
        const [status, json] = [stdout.slice(0, 3), JSON.parse(stdout.slice(4))]
        expect(status, stdout).toBe('200')
        expect((await itemsOf(json.uploadId)).map(i => i.sku)).toEqual([sku])
      }
    } finally {
      await fs.rm(script, { force: true })
    }
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------

describe('inbound webhook: rate limit', () => {
  it('answers 429 past the per-source limit, in the standard error shape, other sources unaffected', async () => {
    const limited = await createTestApp({ env: { FERRY_INBOUND_RATE_LIMIT_PER_MINUTE: '3' } })
    try {
      const agent = (await limited.api('POST', '/api/v1/agents', { body: { name: 'rl' } })).json().id
      const make = async (name: string) => {
        const res = await limited.api('POST', `/api/v1/agents/${agent}/data-sources`, { body: { name, role: 'INVENTORY_SOURCE', type: 'webhook', config: {} } })
        return { id: res.json().id as string, secret: res.json().signingSecret as string }
      }
      const a = await make('a')
      const b = await make('b')
      const send = (s: Source, opts: DeliverOptions = {}) => {
        const body = Buffer.from('sku\nRL\n')
        return limited.app.inject({ method: 'POST', url: `/api/v1/inbound/${s.id}`, headers: signedHeaders(s, body, opts), payload: body })
      }
      const statuses = []
      for (let i = 0; i < 3; i++) statuses.push((await send(a)).statusCode)
      expect(statuses).toEqual([200, 200, 200])
      const over = await send(a)
      expect(over.statusCode).toBe(429)
      expect(over.json()).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } })
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0)
      // an unsigned attempt is refused for its signature, on a budget of its own (test/integration/inbound-limits.test.ts)
      expect((await send(a, { signature: 'v1,AAAA' })).statusCode).toBe(401)
      expect((await send(b)).statusCode).toBe(200)
    } finally {
      await limited.close()
    }
  }, 120_000)
})

// ---------------------------------------------------------------------------------------------

describe('inbound webhook: the signing secret is a canary', () => {
  it('never appears in a log line or in any answer but its creation', async () => {
    const s = await createInbound('canary')
    await deliver(s, 'sku\nCAN1\n')
    await deliver(s, 'sku\nCAN1\n', { signature: 'v1,' + randomBytes(32).toString('base64') })
    await deliver(s, 'sku\nCAN1\n', { timestamp: now() - 3600 })
    await deliver(s, '{"broken":', { contentType: 'application/json' })
    await api('GET', `/api/v1/agents/${agentId}/data-sources/${s.id}`)
    await api('GET', `/api/v1/agents/${agentId}/data-sources`)
    await api('GET', `/api/v1/agents/${agentId}/data-sources/${s.id}/syncs`)
    await api('POST', `/api/v1/agents/${agentId}/data-sources/${s.id}/test`)
    await api('GET', '/api/v1/secrets')
    expect(responses.length).toBeGreaterThan(5)
    expect(secrets).toContain(s.secret)
    for (const needle of secrets.flatMap(secret => [secret, secret.slice(6), Buffer.from(secret.slice(6), 'base64').toString('hex')])) {
      expect(t.logs.filter(l => l.includes(needle))).toEqual([])
      expect(responses.filter(r => r.includes(needle))).toEqual([])
    }
  })
})
