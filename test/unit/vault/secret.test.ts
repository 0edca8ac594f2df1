import { Console } from 'node:console'
import { Writable } from 'node:stream'
import util from 'node:util'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import { Secret, decodeSecretValue, encodeSecretValue, redactValue } from '../../../src/vault/secret.js'

const PLAIN = 'canary-wJalrXUtnFEMI-K7MDENG-bPxRfiCY'

const memory = (): { stream: Writable, text: () => string } => {
  const chunks: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    },
  })
  return { stream, text: () => chunks.join('') }
}

describe('Secret', () => {
  const s = new Secret(PLAIN)

  it('reveal() returns the value', () => {
    expect(s.reveal()).toBe(PLAIN)
    expect(new Secret({ a: 1 }).reveal()).toEqual({ a: 1 })
    expect(s.map(v => v.length).reveal()).toBe(PLAIN.length)
  })

  it('String(), template literals, concatenation and toString print [REDACTED]', () => {
    expect(String(s)).toBe('[REDACTED]')
    expect(`${s}`).toBe('[REDACTED]')
    expect('x' + s).toBe('x[REDACTED]')
    expect(s.toString()).toBe('[REDACTED]')
    expect([s, s].join(',')).toBe('[REDACTED],[REDACTED]')
  })

  it('JSON.stringify prints [REDACTED], nested too', () => {
    expect(JSON.stringify(s)).toBe('"[REDACTED]"')
    expect(JSON.stringify({ s })).toBe('{"s":"[REDACTED]"}')
    expect(JSON.stringify({ deep: [{ s }] })).toBe('{"deep":[{"s":"[REDACTED]"}]}')
    expect(JSON.stringify(new Secret(Buffer.from(PLAIN)))).toBe('"[REDACTED]"')
    expect(JSON.stringify(new Secret({ secretAccessKey: PLAIN }))).toBe('"[REDACTED]"')
  })

  it('util.inspect and util.format print [REDACTED]', () => {
    expect(util.inspect(s)).toBe('[REDACTED]')
    expect(util.inspect({ s }, { depth: 10, showHidden: true })).not.toContain(PLAIN)
    expect(util.inspect(s, { customInspect: false, showHidden: true })).not.toContain(PLAIN) // private field, not a property
    for (const fmt of ['%s', '%o', '%O', '%j']) expect(util.format(fmt, s)).not.toContain(PLAIN)
    expect(util.format('%s', s)).toBe('[REDACTED]')
    expect(util.format(s)).toBe('[REDACTED]')
  })

  it('console.log prints [REDACTED]', () => {
    const out = memory()
    const con = new Console({ stdout: out.stream, stderr: out.stream })
    con.log(s)
    con.log({ s, list: [s] })
    con.log('value: %s', s)
    con.error(new Error(`boom ${s}`))
    con.dir(s, { depth: 5 })
    con.table([{ s }])
    expect(out.text()).toContain('[REDACTED]')
    expect(out.text()).not.toContain(PLAIN)
  })

  it('a pino logger writing to a memory stream prints [REDACTED]', () => {
    const out = memory()
    const log = pino({ level: 'trace' }, out.stream)
    log.info({ s }, 'with secret')
    log.info({ nested: { credentials: { s } } }, `msg ${s}`)
    log.error({ err: new Error(`failed with ${s}`) })
    log.info(s as unknown as object)
    log.child({ s }).warn('child')
    const lines = out.text().trim().split('\n')
    expect(lines).toHaveLength(5)
    expect(JSON.parse(lines[0]).s).toBe('[REDACTED]')
    expect(out.text()).not.toContain(PLAIN)
  })

  it('is not exposed by keys, spread, Object.entries or structuredClone', () => {
    expect(Object.keys(s)).toEqual([])
    expect(Object.getOwnPropertyNames(s)).toEqual([])
    expect(JSON.stringify({ ...s })).toBe('{}')
    expect(JSON.stringify(structuredClone(s))).not.toContain(PLAIN)
    expect(Secret.isSecret(s)).toBe(true)
    expect(Secret.isSecret(PLAIN)).toBe(false)
  })
})

describe('redactValue', () => {
  it('shows mt_byo_**** + the last four characters', () => {
    expect(redactValue('AKIAIOSFODNN7EXAMPLE')).toBe('mt_byo_****MPLE')
    expect(redactValue('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe('mt_byo_****EKEY')
    expect(redactValue('12345678')).toBe('mt_byo_****5678')
  })

  it('shows no suffix for values shorter than 8 characters', () => {
    for (const v of ['', 'a', 'abcd', '1234567']) expect(redactValue(v)).toBe('mt_byo_****')
  })

  it('counts code points, never splitting a surrogate pair', () => {
    expect(redactValue('secret-🔑🔑🔑🔑')).toBe('mt_byo_****🔑🔑🔑🔑')
    expect(redactValue('🔑🔑🔑🔑🔑🔑🔑')).toBe('mt_byo_****')
  })
})

describe('encodeSecretValue / decodeSecretValue', () => {
  it('keeps exactly the known fields', () => {
    const buf = encodeSecretValue('aws', { accessKeyId: 'A', secretAccessKey: 'B', extra: 'x' } as never)
    expect(JSON.parse(buf.toString())).toEqual({ accessKeyId: 'A', secretAccessKey: 'B' })
    expect(decodeSecretValue('http_header', encodeSecretValue('http_header', { name: 'X-Key', value: 'v' }))).toEqual({ name: 'X-Key', value: 'v' })
  })

  it('refuses incomplete values', () => {
    expect(() => encodeSecretValue('aws', { accessKeyId: 'A' } as never)).toThrow(TypeError)
    expect(() => encodeSecretValue('webhook', { signingSecret: '' })).toThrow(TypeError)
  })

  it('a decrypted value of the wrong shape is SECRET_DECRYPT_FAILED without echoing it', () => {
    try {
      decodeSecretValue('webhook', Buffer.from(JSON.stringify({ accessKeyId: PLAIN })), 'sec_1')
      expect.unreachable()
    } catch (err) {
      expect(err).toBeInstanceOf(AppError)
      expect((err as AppError).code).toBe('SECRET_DECRYPT_FAILED')
      expect(JSON.stringify({ m: (err as Error).message, d: (err as AppError).details })).not.toContain(PLAIN)
    }
    expect(() => decodeSecretValue('aws', Buffer.from('not json'))).toThrow(AppError)
  })
})
