import { utils } from 'ssh2'
import { describe, expect, it } from 'vitest'
import type { AppError } from '../../../src/errors.js'
import { parseSftpSecret, redactSftpSecret, sftpSecretStrings, SFTP_SECRET_FIELDS } from '../../../src/kinds/sftp/secret.js'

const encrypted = utils.generateKeyPairSync('ed25519', { passphrase: 'open sesame', cipher: 'aes256-ctr', comment: 'ferry-test' })
const plain = utils.generateKeyPairSync('ecdsa', { bits: 256 })

function refusal (input: Record<string, unknown>): AppError {
  try {
    parseSftpSecret(input)
  } catch (err) {
    return err as AppError
  }
  throw new Error('expected a refusal')
}

describe('sftp secret: parse', () => {
  it('takes a password, a key, or a passphrase-protected key, and keeps exactly the fields', () => {
    expect(parseSftpSecret({ username: 'acme', password: 'hunter22' })).toEqual({ username: 'acme', password: 'hunter22' })
    expect(parseSftpSecret({ username: 'acme', privateKey: plain.private })).toEqual({ username: 'acme', privateKey: plain.private })
    const withPassphrase = { username: 'acme', privateKey: encrypted.private, passphrase: 'open sesame' }
    expect(parseSftpSecret(withPassphrase)).toEqual(withPassphrase)
    expect(SFTP_SECRET_FIELDS.required).toEqual(['username'])
  })

  it('names the field to fix, never the value', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ username: 'acme' }, 'value', /password or a privateKey/],
      [{ username: '', password: 'x' }, 'value.username', /non-empty/],
      [{ username: 'a cme', password: 'x' }, 'value.username', /spaces/],
      [{ username: 'acme', password: 'bad\u0000pw' }, 'value.password', /control characters/],
      [{ username: 'acme', privateKey: encrypted.private }, 'value.passphrase', /required: the private key is encrypted/],
      [{ username: 'acme', privateKey: encrypted.private, passphrase: 'Wrong-Passphrase-9' }, 'value.passphrase', /does not decrypt/],
      [{ username: 'acme', privateKey: 'not a key at all, just text' }, 'value.privateKey', /not a private key/],
      [{ username: 'acme', privateKey: plain.public }, 'value.privateKey', /public key/],
      [{ username: 'acme', password: 'x', passphrase: 'Lonely-Passphrase' }, 'value.passphrase', /no.*privateKey|there is none/],
      [{ username: 'acme', privateKey: plain.private, passphrase: 'Needless-Passphrase' }, 'value.passphrase', /not encrypted/],
    ]
    for (const [input, field, message] of cases) {
      const err = refusal(input)
      expect(err.code).toBe('VALIDATION_FAILED')
      expect(err.details).toEqual({ field })
      expect(err.message).toMatch(message)
      for (const v of Object.values(input)) {
        if (typeof v === 'string' && v.length > 4 && v !== 'acme') expect(err.message).not.toContain(v)
      }
    }
  })
})

describe('sftp secret: redaction', () => {
  it('shows the user name, a private key as its type and fingerprint, password and passphrase redacted', () => {
    const redacted = redactSftpSecret({ username: 'acme', password: 'correct-horse-battery', privateKey: encrypted.private, passphrase: 'open sesame' })
    expect(redacted.username).toBe('acme')
    expect(redacted.password).toBe('mt_byo_****tery')
    expect(redacted.passphrase).toBe('mt_byo_****same')
    expect(redacted.privateKey).toMatch(/^ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}$/)
    expect(JSON.stringify(redacted)).not.toContain('PRIVATE KEY')
    expect(redactSftpSecret({ username: 'acme', privateKey: plain.private }).privateKey).toMatch(/^ecdsa-sha2-nistp256 SHA256:/)
  })

  it('lists the password, passphrase, key text and its body lines for scrubbing, not the user name or the armour', () => {
    const strings = sftpSecretStrings({ username: 'acme', password: 'correct-horse-battery', privateKey: encrypted.private, passphrase: 'open sesame' })
    expect(strings).toContain('correct-horse-battery')
    expect(strings).toContain('open sesame')
    expect(strings).toContain(encrypted.private)
    const bodyLines = encrypted.private.split('\n').filter(l => l !== '' && !l.startsWith('-----'))
    for (const line of bodyLines.filter(l => l.length >= 16)) expect(strings).toContain(line)
    expect(strings).not.toContain('acme')
    expect(strings.some(s => /^-----(BEGIN|END) [A-Z ]+-----$/.test(s))).toBe(false)
  })
})
