import { createHmac, randomBytes } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import {
  LIBRARY_CHECK_MAX_BYTES, SignatureVerifier, readSignatureHeaders, signV1, signingKey, verifyWithLibrary, type SignatureHeaders,
} from '../../../src/inbound/signature.js'

const secret = 'whsec_' + randomBytes(32).toString('base64')
const NOW = 1_750_000_000_000
const ts = String(NOW / 1000)
const rawSign = (s: string, id: string, t: string, body: Buffer) =>
  'v1,' + createHmac('sha256', Buffer.from(s.slice(6), 'base64')).update(`${id}.${t}.`).update(body).digest('base64')

const headers = (over: Record<string, string | undefined> = {}) => ({
  'webhook-id': 'msg_1', 'webhook-timestamp': ts, 'webhook-signature': rawSign(secret, 'msg_1', ts, Buffer.from('x')), ...over,
})

const refusal = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(AppError)
    expect((err as AppError).code).toBe('WEBHOOK_SIGNATURE_INVALID')
    return (err as AppError).message
  }
  throw new Error('not refused')
}

const verify = (h: SignatureHeaders, chunks: Buffer[], s = secret) => {
  const v = new SignatureVerifier(signingKey(s), h)
  for (const c of chunks) v.update(c)
  return v.matches()
}

describe('readSignatureHeaders', () => {
  it('names the missing headers', () => {
    expect(refusal(() => readSignatureHeaders({}, NOW))).toMatch(/webhook-id, webhook-timestamp, webhook-signature headers are missing/)
    expect(refusal(() => readSignatureHeaders(headers({ 'webhook-timestamp': undefined }), NOW))).toMatch(/webhook-timestamp header is missing/)
    expect(refusal(() => readSignatureHeaders(headers({ 'webhook-signature': '  ' }), NOW))).toMatch(/webhook-signature header is missing/)
  })

  it('accepts the timestamp window inclusive of ±5 minutes and refuses one second more', () => {
    for (const skew of [-300, 0, 300]) expect(() => readSignatureHeaders(headers({ 'webhook-timestamp': String(NOW / 1000 + skew) }), NOW)).not.toThrow()
    expect(refusal(() => readSignatureHeaders(headers({ 'webhook-timestamp': String(NOW / 1000 - 301) }), NOW))).toMatch(/old/)
    expect(refusal(() => readSignatureHeaders(headers({ 'webhook-timestamp': String(NOW / 1000 + 301) }), NOW))).toMatch(/future/)
  })

  it('refuses timestamps that are not whole Unix seconds (the library\'s parseInt would take "1750000000abc")', () => {
    for (const bad of [`${ts}abc`, `${ts}.5`, '-1', '1e9', new Date(NOW).toISOString(), `${ts}000`]) {
      expect(() => readSignatureHeaders(headers({ 'webhook-timestamp': bad }), NOW), bad).toThrow(AppError)
    }
  })

  it('refuses ids with a dot, spaces or more than 256 characters', () => {
    for (const bad of ['a.b', 'a b', 'x'.repeat(257), 'caf\u00e9']) {
      expect(() => readSignatureHeaders(headers({ 'webhook-id': bad }), NOW), bad).toThrow(AppError)
    }
    expect(readSignatureHeaders(headers({ 'webhook-id': 'x'.repeat(256) }), NOW).id).toHaveLength(256)
  })

  it('keeps only well-formed v1 signatures of 32 bytes', () => {
    const good = rawSign(secret, 'msg_1', ts, Buffer.from('x'))
    const parsed = readSignatureHeaders(headers({
      'webhook-signature': `v1a,${randomBytes(64).toString('base64')}   v1,${randomBytes(16).toString('base64')} ` +
        `v1,not*base64 v2,${randomBytes(32).toString('base64')} ${good}`,
    }), NOW)
    expect(parsed.signatures).toHaveLength(1)
    expect(parsed.signatures[0].toString('base64')).toBe(good.slice(3))
    expect(refusal(() => readSignatureHeaders(headers({ 'webhook-signature': 'v1a,abcd' }), NOW))).toMatch(/no "v1,/)
  })
})

describe('SignatureVerifier', () => {
  const body = Buffer.from('sku,quantity\nA,1\nB,2\n')
  const h = (signature: string, id = 'msg_1', t = ts) => readSignatureHeaders({ 'webhook-id': id, 'webhook-timestamp': t, 'webhook-signature': signature }, NOW)

  it('matches the library\'s signature whatever the chunking', () => {
    const signature = new Webhook(secret).sign('msg_1', new Date(NOW), body.toString())
    const parsed = h(signature)
    expect(verify(parsed, [body])).toBe(true)
    expect(verify(parsed, [...body].map(b => Buffer.from([b])))).toBe(true)
    expect(verify(parsed, [])).toBe(false)
  })

  it('refuses another secret, another body, another id and another timestamp', () => {
    const signature = rawSign(secret, 'msg_1', ts, body)
    expect(verify(h(signature), [body], 'whsec_' + randomBytes(32).toString('base64'))).toBe(false)
    expect(verify(h(signature), [Buffer.from(body.toString().replace('1', '9'))])).toBe(false)
    expect(verify(h(signature, 'msg_2'), [body])).toBe(false)
    expect(verify(h(signature, 'msg_1', String(NOW / 1000 - 1)), [body])).toBe(false)
  })

  it('accepts if any of several signatures matches (rotation)', () => {
    const old = rawSign('whsec_' + randomBytes(32).toString('base64'), 'msg_1', ts, body)
    expect(verify(h(`${old} ${rawSign(secret, 'msg_1', ts, body)}`), [body])).toBe(true)
    expect(verify(h(`${rawSign(secret, 'msg_1', ts, body)} ${old}`), [body])).toBe(true)
    expect(verify(h(old), [body])).toBe(false)
  })

  it('verifies binary bodies over their raw bytes', () => {
    const binary = Buffer.from([0x1f, 0x8b, 0xff, 0xfe, 0x00, 0x80, 0xc3])
    expect(verify(h(rawSign(secret, 'msg_1', ts, binary)), [binary])).toBe(true)
    // standardwebhooks ≥ 1.3 signs a Buffer's bytes (earlier versions signed its UTF-8 decoding, another
    // message for bytes that are not UTF-8): a sender using the library and the raw-byte check agree
    const librarySigned = new Webhook(secret).sign('msg_1', new Date(NOW), binary)
    expect(verify(h(librarySigned), [binary])).toBe(true)
    expect(verify(h(librarySigned), [Buffer.from(binary.toString('utf8'))])).toBe(false)
  })
})

describe('signV1', () => {
  it('gives the standardwebhooks package\'s signature for text, binary, empty and string bodies, at any time of the second', () => {
    const bodies: Array<string | Buffer> = [
      Buffer.from('[{"sku":"A","name":"Ünïcödé ✓"}]'), Buffer.from([0x1f, 0x8b, 0xff, 0xfe, 0x00, 0x80, 0xc3]), Buffer.alloc(0),
      randomBytes(100_000), 'sku,name\r\nA,"é 😀"\r\n', '',
    ]
    for (const at of [new Date(NOW), new Date(NOW + 999)]) {
      for (const body of bodies) {
        for (const s of [secret, secret.slice(6)]) expect(signV1(s, 'msg_x-1', at, body)).toBe(new Webhook(s).sign('msg_x-1', at, body))
      }
    }
  })
})

describe('verifyWithLibrary', () => {
  const now = Math.floor(Date.now() / 1000)
  const body = Buffer.from('sku\nA\n')
  const parsed = (signature: string) => readSignatureHeaders({ 'webhook-id': 'msg_9', 'webhook-timestamp': String(now), 'webhook-signature': signature })

  it('agrees with the raw-byte check on text bodies', () => {
    const good = parsed(rawSign(secret, 'msg_9', String(now), body))
    expect(verifyWithLibrary(secret, body, good)).toBe(true)
    expect(verifyWithLibrary(secret, Buffer.from('sku\nB\n'), good)).toBe(false)
  })

  it('does not apply to bodies it cannot represent: too large, or not UTF-8', () => {
    const h = parsed(rawSign(secret, 'msg_9', String(now), body))
    expect(verifyWithLibrary(secret, null, h)).toBeNull()
    expect(verifyWithLibrary(secret, Buffer.alloc(LIBRARY_CHECK_MAX_BYTES + 1, 'a'), h)).toBeNull()
    expect(verifyWithLibrary(secret, Buffer.from([0xff, 0xfe]), h)).toBeNull()
  })
})
