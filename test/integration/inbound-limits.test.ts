import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { createInboundSource, signedHeaders, type InboundSource as Source } from '../helpers/inbound.js'

// issue #14 case 2: only verified deliveries count toward a source's inbound limit; unsigned or
// badly signed attempts are limited on their own, per source and client address.

let t: TestApp
let agentId: string

beforeAll(async () => {
  t = await createTestApp({ env: { FERRY_INBOUND_RATE_LIMIT_PER_MINUTE: '3', FERRY_INBOUND_UNVERIFIED_RATE_LIMIT_PER_MINUTE: '2' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'limits' } })).json().id
})
afterAll(async () => {
  await t?.close()
})

const createInbound = (name: string): Promise<Source> => createInboundSource(t, agentId, name)

const send = (source: Source, o: { from?: string, signature?: string | null, body?: string } = {}) => {
  const body = Buffer.from(o.body ?? 'sku\nL1\n')
  const headers = signedHeaders(source, body)
  if (o.signature === null) delete headers['webhook-signature']
  else if (o.signature !== undefined) headers['webhook-signature'] = o.signature
  return t.app.inject({ method: 'POST', url: `/api/v1/inbound/${source.id}`, headers, payload: body, remoteAddress: o.from ?? '203.0.113.7' })
}

describe('inbound webhook: who counts toward the limits', () => {
  it('unsigned and badly signed floods never lock out the signed sender', async () => {
    const source = await createInbound('flooded')
    const attacker = '198.51.100.66'
    const flood = []
    for (let i = 0; i < 10; i++) {
      // missing header, a well-formed but wrong signature (the body is read, then refused)
      flood.push((await send(source, { from: attacker, signature: i % 2 === 0 ? null : 'v1,' + Buffer.alloc(32, i).toString('base64') })).statusCode)
    }
    expect(flood.slice(0, 2)).toEqual([401, 401])
    expect(new Set(flood.slice(2))).toEqual(new Set([429]))
    const throttled = await send(source, { from: attacker, signature: null })
    expect(throttled.json()).toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterSeconds: expect.any(Number) } })
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0)

    // the real sender, elsewhere: its full budget, then the source's own limit
    const sender = []
    for (let i = 0; i < 4; i++) sender.push((await send(source)).statusCode)
    expect(sender).toEqual([200, 200, 200, 429])

    // another address's failures have their own budget
    expect((await send(source, { from: '192.0.2.10', signature: null })).statusCode).toBe(401)
  })

  it('a source at its limit refuses signed deliveries before reading them, and other sources are unaffected', async () => {
    const a = await createInbound('a')
    const b = await createInbound('b')
    for (let i = 0; i < 3; i++) expect((await send(a)).statusCode).toBe(200)
    const over = await send(a)
    expect(over.statusCode).toBe(429)
    expect(over.headers.connection).toBe('close')
    expect((await send(b)).statusCode).toBe(200)
    const { rows } = await t.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM syncs WHERE source_id = $1', [a.id])
    expect(rows[0].n).toBe(3)
  })
})
