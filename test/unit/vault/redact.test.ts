import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { collectSecretStrings, generateWebhookSecret, redactSecretValue } from '../../../src/vault/redact.js'
import { Secret } from '../../../src/vault/secret.js'

const aws = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

describe('redactSecretValue', () => {
  it('aws: each value as mt_byo_**** + last four', () => {
    expect(redactSecretValue('aws', aws)).toEqual({ accessKeyId: 'mt_byo_****MPLE', secretAccessKey: 'mt_byo_****EKEY' })
    expect(redactSecretValue('aws', { ...aws, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' }))
      .toEqual({ accessKeyId: 'mt_byo_****MPLE', secretAccessKey: 'mt_byo_****EKEY', sessionToken: 'mt_byo_****OKEN' })
    expect('sessionToken' in redactSecretValue('aws', aws)).toBe(false)
  })

  it('webhook: the signing secret', () => {
    expect(redactSecretValue('webhook', { signingSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' })).toEqual({ signingSecret: 'mt_byo_****LaSw' })
  })

  it('http_header: the name in clear, the value redacted', () => {
    expect(redactSecretValue('http_header', { name: 'Authorization', value: 'Bearer abcdefgh12345678' }))
      .toEqual({ name: 'Authorization', value: 'mt_byo_****5678' })
    expect(redactSecretValue('http_header', { name: 'X-Api-Key', value: 'short' })).toEqual({ name: 'X-Api-Key', value: 'mt_byo_****' })
  })

  it('accepts a Secret wrapping the value', () => {
    expect(redactSecretValue('aws', new Secret(aws))).toEqual({ accessKeyId: 'mt_byo_****MPLE', secretAccessKey: 'mt_byo_****EKEY' })
  })

  it('never contains more of a secret than its last four characters', () => {
    const out = JSON.stringify(redactSecretValue('aws', aws))
    expect(out).not.toContain('wJalr')
    expect(out).not.toContain('XAMPLEKEY')
  })

  it('refuses an unknown type', () => {
    expect(() => redactSecretValue('ftp' as never, {} as never)).toThrow(TypeError)
  })
})

describe('generateWebhookSecret', () => {
  it('is whsec_ + base64 of 24 random bytes', () => {
    const s = generateWebhookSecret()
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/)
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(24)
    expect(generateWebhookSecret()).not.toBe(s)
  })

  it('is accepted by the standardwebhooks library (sign + verify)', () => {
    const secret = generateWebhookSecret()
    const wh = new Webhook(secret)
    const payload = '{"hello":"world"}'
    const id = 'msg_1'
    const now = new Date()
    const signature = wh.sign(id, now, payload)
    expect(signature).toMatch(/^v1,/)
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature }
    expect(wh.verify(payload, headers)).toEqual({ hello: 'world' })
  })
})

describe('collectSecretStrings', () => {
  it('aws: every credential string', () => {
    expect(collectSecretStrings('aws', { ...aws, sessionToken: 'tok+en/==' }))
      .toEqual(expect.arrayContaining([
        aws.accessKeyId, aws.secretAccessKey, 'tok+en/==', encodeURIComponent(aws.secretAccessKey), encodeURIComponent('tok+en/=='),
      ]))
  })

  it('webhook: the secret and its key part', () => {
    const s = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
    expect(collectSecretStrings('webhook', { signingSecret: s })).toEqual(expect.arrayContaining([s, 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']))
  })

  it('http_header: the value and its token, never the header name', () => {
    const out = collectSecretStrings('http_header', new Secret({ name: 'Authorization', value: 'Bearer abc"def' }))
    expect(out).toEqual(expect.arrayContaining(['Bearer abc"def', 'abc"def', 'abc\\"def']))
    expect(out).not.toContain('Authorization')
  })

  it('no empty strings, no duplicates', () => {
    const out = collectSecretStrings('aws', { accessKeyId: 'AKIA', secretAccessKey: 'AKIA', sessionToken: '' })
    expect(out).toEqual(['AKIA'])
  })
})
