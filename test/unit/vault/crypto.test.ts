import crypto from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import type { SealedSecret, SecretContext } from '../../../src/vault/crypto.js'
import { FORMAT_VERSION, WRAPPED_KEY_BYTES, decryptSecret, encodeAad, encryptSecret, rewrapDataKey } from '../../../src/vault/crypto.js'
import { Keyring, createMasterKey } from '../../../src/vault/keyring.js'
import type { SecretType, SecretValues } from '../../../src/vault/secret.js'
import { decodeSecretValue, encodeSecretValue } from '../../../src/vault/secret.js'

const k1 = createMasterKey(crypto.randomBytes(32), 1)
const k2 = createMasterKey(crypto.randomBytes(32), 2)
const ring1 = new Keyring([k1])

const ctx: SecretContext = { orgId: 'org_0001', secretId: 'sec_0001', type: 'aws' }
const plaintext = Buffer.from(JSON.stringify({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }))

const seal = (): SealedSecret => encryptSecret({ ...ctx, plaintext }, k1)

const flipBit = (buf: Buffer, bit: number): Buffer => {
  const copy = Buffer.from(buf)
  copy[bit >> 3] ^= 1 << (bit & 7)
  return copy
}

const flipChar = (s: string, index = 0): string =>
  s.slice(0, index) + String.fromCharCode(s.charCodeAt(index) ^ 1) + s.slice(index + 1)

function expectCode (fn: () => unknown, code: string): AppError {
  let thrown: unknown
  try {
    fn()
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(AppError)
  expect((thrown as AppError).code).toBe(code)
  return thrown as AppError
}

describe('encryptSecret / decryptSecret', () => {
  const values: { [K in SecretType]: SecretValues[K] } = {
    aws: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' },
    webhook: { signingSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
    http_header: { name: 'Authorization', value: 'Bearer s3cr3t-t0ken-value' },
    azure: { accountName: 'devstoreaccount1', accountKey: 'RVhBTVBMRS1hY2NvdW50LWtleQ==' },
    sftp: { username: 'acme', password: 'sftp-pa55word-value' },
  }

  for (const type of Object.keys(values) as SecretType[]) {
    it(`round-trips a ${type} secret`, () => {
      const c = { orgId: 'org_a', secretId: `sec_${type}`, type }
      const sealed = encryptSecret({ ...c, plaintext: encodeSecretValue(type, values[type]) }, k1)
      expect(sealed.formatVersion).toBe(FORMAT_VERSION)
      expect(sealed.nonce).toHaveLength(12)
      expect(sealed.tag).toHaveLength(16)
      expect(sealed.wrappedKey).toHaveLength(WRAPPED_KEY_BYTES)
      expect(sealed.kekId).toBe(k1.id)
      expect(sealed.ciphertext.toString('utf8')).not.toContain('EXAMPLE')
      const out = decryptSecret(c, sealed, ring1)
      expect(decodeSecretValue(type, out)).toEqual(values[type])
    })
  }

  it('round-trips an empty and a large plaintext', () => {
    for (const p of [Buffer.alloc(0), crypto.randomBytes(100_000)]) {
      expect(decryptSecret(ctx, encryptSecret({ ...ctx, plaintext: p }, k1), ring1).equals(p)).toBe(true)
    }
  })

  it('uses a fresh data key and fresh nonces every time', () => {
    const a = seal()
    const b = seal()
    expect(a.nonce.equals(b.nonce)).toBe(false)
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false)
    expect(a.wrappedKey.subarray(0, 12).equals(b.wrappedKey.subarray(0, 12))).toBe(false)
    expect(a.wrappedKey.equals(b.wrappedKey)).toBe(false)
  })

  it('accepts byte columns read back as plain Uint8Array (PGlite)', () => {
    const s = seal()
    const u8 = (b: Buffer): Uint8Array => new Uint8Array(b)
    const stored = { ...s, ciphertext: u8(s.ciphertext), nonce: u8(s.nonce), tag: u8(s.tag), wrappedKey: u8(s.wrappedKey) }
    expect(decryptSecret(ctx, stored, ring1).equals(plaintext)).toBe(true)
  })

  it('does not modify the sealed value it is given', () => {
    const s = seal()
    const copy = { ...s, ciphertext: Buffer.from(s.ciphertext), wrappedKey: Buffer.from(s.wrappedKey) }
    decryptSecret(ctx, s, ring1)
    expect(s.ciphertext.equals(copy.ciphertext) && s.wrappedKey.equals(copy.wrappedKey)).toBe(true)
  })
})

describe('tampering fails with a clear error, never garbage', () => {
  const sealed = seal()

  for (const field of ['ciphertext', 'nonce', 'tag', 'wrappedKey'] as const) {
    it(`flipping any single bit of ${field} → SECRET_DECRYPT_FAILED`, () => {
      const bits = sealed[field].length * 8
      for (let bit = 0; bit < bits; bit++) {
        const err = expectCode(() => decryptSecret(ctx, { ...sealed, [field]: flipBit(sealed[field], bit) }, ring1), 'SECRET_DECRYPT_FAILED')
        if (bit === 0) {
          expect(err.details).toEqual({ secretId: ctx.secretId })
          expect(err.message).toMatch(/could not be decrypted: it was altered, copied from another organisation, or encrypted with another master key/)
        }
      }
    })
  }

  it('a truncated tag is refused (GCM tag length pinned to 16 bytes)', () => {
    for (const n of [0, 4, 8, 12, 15]) {
      expectCode(() => decryptSecret(ctx, { ...sealed, tag: sealed.tag.subarray(0, n) }, ring1), 'SECRET_DECRYPT_FAILED')
    }
  })

  it('truncated or extended ciphertext / wrappedKey / nonce is refused', () => {
    expectCode(() => decryptSecret(ctx, { ...sealed, ciphertext: sealed.ciphertext.subarray(1) }, ring1), 'SECRET_DECRYPT_FAILED')
    expectCode(() => decryptSecret(ctx, { ...sealed, ciphertext: Buffer.concat([sealed.ciphertext, Buffer.from([0])]) }, ring1), 'SECRET_DECRYPT_FAILED')
    expectCode(() => decryptSecret(ctx, { ...sealed, wrappedKey: sealed.wrappedKey.subarray(0, 59) }, ring1), 'SECRET_DECRYPT_FAILED')
    expectCode(() => decryptSecret(ctx, { ...sealed, nonce: Buffer.concat([sealed.nonce, Buffer.from([0])]) }, ring1), 'SECRET_DECRYPT_FAILED')
  })

  it('a changed kekId that is not loaded → MASTER_KEY_MISMATCH', () => {
    for (let i = 0; i < sealed.kekId.length; i++) {
      const kekId = sealed.kekId.slice(0, i) + (sealed.kekId[i] === '0' ? '1' : '0') + sealed.kekId.slice(i + 1)
      expectCode(() => decryptSecret(ctx, { ...sealed, kekId }, ring1), 'MASTER_KEY_MISMATCH')
    }
  })

  it('a kekId pointing at another loaded key → SECRET_DECRYPT_FAILED', () => {
    expectCode(() => decryptSecret(ctx, { ...sealed, kekId: k2.id }, new Keyring([k1, k2])), 'SECRET_DECRYPT_FAILED')
  })

  it('a malformed kekId → SECRET_DECRYPT_FAILED (and is not echoed)', () => {
    const err = expectCode(() => decryptSecret(ctx, { ...sealed, kekId: flipChar(sealed.kekId).toUpperCase() + '<script>' }, ring1), 'SECRET_DECRYPT_FAILED')
    expect(err.message).not.toContain('<script>')
  })

  for (const field of ['orgId', 'secretId', 'type'] as const) {
    it(`a different ${field} in the AAD → SECRET_DECRYPT_FAILED`, () => {
      for (let i = 0; i < ctx[field].length; i++) {
        expectCode(() => decryptSecret({ ...ctx, [field]: flipChar(ctx[field], i) }, sealed, ring1), 'SECRET_DECRYPT_FAILED')
      }
      expectCode(() => decryptSecret({ ...ctx, [field]: ctx[field] + 'x' }, sealed, ring1), 'SECRET_DECRYPT_FAILED')
    })
  }

  it('a different formatVersion → SECRET_DECRYPT_FAILED', () => {
    for (const formatVersion of [0, 2, 3, 1 ^ 0x80, -1, 1.5, Number.NaN]) {
      expectCode(() => decryptSecret(ctx, { ...sealed, formatVersion }, ring1), 'SECRET_DECRYPT_FAILED')
    }
  })

  it('a row copied into another organisation does not decrypt', () => {
    const rowOfOrgA = encryptSecret({ orgId: 'org_a', secretId: 'sec_1', type: 'webhook', plaintext }, k1)
    expectCode(() => decryptSecret({ orgId: 'org_b', secretId: 'sec_1', type: 'webhook' }, rowOfOrgA, ring1), 'SECRET_DECRYPT_FAILED')
    // …nor with its wrapped key grafted onto a row of org B (both AADs bind the org)
    const rowOfOrgB = encryptSecret({ orgId: 'org_b', secretId: 'sec_1', type: 'webhook', plaintext: Buffer.from('b') }, k1)
    const ctxOfOrgB: SecretContext = { orgId: 'org_b', secretId: 'sec_1', type: 'webhook' }
    expectCode(() => decryptSecret(ctxOfOrgB, { ...rowOfOrgB, wrappedKey: rowOfOrgA.wrappedKey }, ring1), 'SECRET_DECRYPT_FAILED')
    expectCode(() => decryptSecret(ctxOfOrgB, { ...rowOfOrgA, wrappedKey: rowOfOrgB.wrappedKey }, ring1), 'SECRET_DECRYPT_FAILED')
  })

  it('a wrong master key → MASTER_KEY_MISMATCH naming the key it needs', () => {
    const other = new Keyring([createMasterKey(crypto.randomBytes(32), 1)])
    const err = expectCode(() => decryptSecret(ctx, sealed, other), 'MASTER_KEY_MISMATCH')
    expect(err.message).toBe(`The vault was encrypted with master key ${k1.id}, which is not loaded; check FERRY_MASTER_KEY / master.key`)
    expect(err.details).toMatchObject({ secretId: ctx.secretId, kekId: k1.id })
  })

  it('errors carry no plaintext or key material', () => {
    const errors = [
      expectCode(() => decryptSecret(ctx, { ...sealed, tag: flipBit(sealed.tag, 3) }, ring1), 'SECRET_DECRYPT_FAILED'),
      expectCode(() => decryptSecret(ctx, sealed, new Keyring([k2])), 'MASTER_KEY_MISMATCH'),
    ]
    for (const err of errors) {
      const text = JSON.stringify({ message: err.message, details: err.details, stack: err.stack, cause: String(err.cause) })
      expect(text).not.toContain('EXAMPLE')
      expect(text).not.toContain(k1.key.toString('base64'))
      expect(text).not.toContain(k1.key.toString('hex'))
    }
  })

  it('garbage rows never crash with a raw exception', () => {
    const rows: unknown[] = [null, {}, { ...sealed, ciphertext: 'abc' }, { ...sealed, nonce: undefined }, { ...sealed, kekId: 42 }]
    for (const row of rows) expectCode(() => decryptSecret(ctx, row as SealedSecret, ring1), 'SECRET_DECRYPT_FAILED')
  })
})

describe('rewrapDataKey (master key rotation)', () => {
  it('re-wraps under the new key, leaving ciphertext, nonce and tag byte-identical', () => {
    const sealed = seal()
    const before = { ciphertext: Buffer.from(sealed.ciphertext), nonce: Buffer.from(sealed.nonce), tag: Buffer.from(sealed.tag) }
    const both = ring1.with(k2)
    expect(both.active.id).toBe(k2.id)

    const rewrapped = rewrapDataKey(sealed, ctx, both, both.active)
    expect(rewrapped.kekId).toBe(k2.id)
    expect(rewrapped.formatVersion).toBe(FORMAT_VERSION)
    expect(rewrapped.ciphertext.equals(before.ciphertext)).toBe(true)
    expect(rewrapped.nonce.equals(before.nonce)).toBe(true)
    expect(rewrapped.tag.equals(before.tag)).toBe(true)
    expect(rewrapped.wrappedKey.equals(sealed.wrappedKey)).toBe(false)
    expect(rewrapped.wrappedKey).toHaveLength(WRAPPED_KEY_BYTES)

    // readable with both keys loaded, and after the old key is retired
    expect(decryptSecret(ctx, rewrapped, both).equals(plaintext)).toBe(true)
    const retired = both.without(k1.id)
    expect(retired.ids).toEqual([k2.id])
    expect(decryptSecret(ctx, rewrapped, retired).equals(plaintext)).toBe(true)
    // a row that was not re-wrapped needs the retired key
    expectCode(() => decryptSecret(ctx, sealed, retired), 'MASTER_KEY_MISMATCH')
  })

  it('keeps the AAD binding of the re-wrapped key', () => {
    const rewrapped = rewrapDataKey(seal(), ctx, ring1, k2)
    const ring2 = new Keyring([k2])
    expectCode(() => decryptSecret({ ...ctx, orgId: 'org_other' }, rewrapped, ring2), 'SECRET_DECRYPT_FAILED')
    expectCode(() => rewrapDataKey(rewrapped, { ...ctx, secretId: 'sec_other' }, ring2, k1), 'SECRET_DECRYPT_FAILED')
  })

  it('refuses to re-wrap a tampered or foreign row, with the same errors as decryption', () => {
    const sealed = seal()
    expectCode(() => rewrapDataKey({ ...sealed, wrappedKey: flipBit(sealed.wrappedKey, 100) }, ctx, ring1, k2), 'SECRET_DECRYPT_FAILED')
    expectCode(() => rewrapDataKey(sealed, ctx, new Keyring([k2]), k2), 'MASTER_KEY_MISMATCH')
  })

  it('can be applied repeatedly (k1 → k2 → k3)', () => {
    const k3 = createMasterKey(crypto.randomBytes(32), 3)
    const s2 = rewrapDataKey(seal(), ctx, ring1, k2)
    const s3 = rewrapDataKey(s2, ctx, new Keyring([k2]), k3)
    expect(decryptSecret(ctx, s3, new Keyring([k3])).equals(plaintext)).toBe(true)
  })
})

describe('encodeAad', () => {
  it('is unambiguous: field boundaries cannot be shifted', () => {
    const a = encodeAad('l', ['org|a', 'b'])
    const b = encodeAad('l', ['org', 'a|b'])
    const c = encodeAad('l', ['orga', 'b'])
    const d = encodeAad('l', ['org', 'ab'])
    const e = encodeAad('l', ['org', 'a', 'b'])
    const all = [a, b, c, d, e].map(x => x.toString('hex'))
    expect(new Set(all).size).toBe(all.length)
  })

  it('distinguishes labels, numbers and strings positionally', () => {
    expect(encodeAad('x', [1, 'a']).equals(encodeAad('y', [1, 'a']))).toBe(false)
    expect(encodeAad('x', [1, 'a']).equals(encodeAad('x', [2, 'a']))).toBe(false)
    expect(encodeAad('x', [1]).toString('hex')).toBe('00000001' + '78' + '00000004' + '00000001')
  })
})

describe('wire format (pinned: rows written today must stay readable)', () => {
  const gcm = (key: Buffer, nonce: Buffer, aad: Buffer) => {
    const d = crypto.createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 })
    d.setAAD(aad)
    return d
  }
  const unwrapByHand = (s: SealedSecret, c: SecretContext, kek: Buffer): Buffer => {
    const d = gcm(kek, s.wrappedKey.subarray(0, 12), encodeAad('ferry.vault.data-key', [1, c.orgId, c.secretId, c.type, s.kekId]))
    d.setAuthTag(s.wrappedKey.subarray(44))
    return Buffer.concat([d.update(s.wrappedKey.subarray(12, 44)), d.final()])
  }
  const wrapByHand = (dek: Buffer, c: SecretContext, kek: typeof k1): Buffer => {
    const nonce = crypto.randomBytes(12)
    const e = crypto.createCipheriv('aes-256-gcm', kek.key, nonce, { authTagLength: 16 })
    e.setAAD(encodeAad('ferry.vault.data-key', [1, c.orgId, c.secretId, c.type, kek.id]))
    const ct = Buffer.concat([e.update(dek), e.final()])
    return Buffer.concat([nonce, ct, e.getAuthTag()])
  }

  it('decrypts by hand with the documented layout and AADs', () => {
    const s = seal()
    const dek = unwrapByHand(s, ctx, k1.key)
    expect(dek).toHaveLength(32)
    const d = gcm(dek, s.nonce, encodeAad('ferry.vault.secret', [1, ctx.orgId, ctx.secretId, ctx.type]))
    d.setAuthTag(s.tag)
    expect(Buffer.concat([d.update(s.ciphertext), d.final()]).equals(plaintext)).toBe(true)
  })

  // Someone holding the master key and write access to the table re-wraps org A's data key for
  // org B: the ciphertext's own AAD still refuses it, for each field on its own.
  for (const field of ['orgId', 'secretId', 'type'] as const) {
    it(`the ciphertext AAD alone binds ${field}`, () => {
      const s = seal()
      const moved = { ...ctx, [field]: ctx[field] + '-moved' }
      const grafted = { ...s, wrappedKey: wrapByHand(unwrapByHand(s, ctx, k1.key), moved, k1) }
      expectCode(() => decryptSecret(moved, grafted, ring1), 'SECRET_DECRYPT_FAILED')
      // control: the hand-made wrapped key itself is fine when the context is unchanged
      const control = { ...s, wrappedKey: wrapByHand(unwrapByHand(s, ctx, k1.key), ctx, k1) }
      expect(decryptSecret(ctx, control, ring1).equals(plaintext)).toBe(true)
    })
  }
})
