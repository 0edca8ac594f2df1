import { utils, type ParsedKey } from 'ssh2'
import { AppError } from '../../errors.js'
import { redactValue } from '../../vault/redact-value.js'
import { fingerprintOf } from './fingerprint.js'
import type { SftpCredentials } from './transport.js'

/**
 * The `sftp` secret type: `{ username, password?, privateKey?, passphrase? }`, shaped for the vault's
 * secret-type descriptor (fields / parse / redact / secretStrings). Messages name fields, never
 * values; a private key is shown as its type and fingerprint, never its text.
 */

export type SftpSecretValue = SftpCredentials

export const SFTP_SECRET_FIELDS = { required: ['username'], optional: ['password', 'privateKey', 'passphrase'] } as const

const MAX_USERNAME = 256
const MAX_PASSWORD = 1024
/** a 16384-bit RSA key in PEM is about 12.5k characters */
const MAX_PRIVATE_KEY = 16_384

const invalid = (field: string, problem: string): AppError =>
  new AppError('VALIDATION_FAILED', `${field} ${problem}.`, { details: { field } })

function optionalString (field: string, v: unknown, max: number): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw invalid(field, 'must be a non-empty string')
  if (v.length > max) throw invalid(field, `must be at most ${max} characters`)
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(v)) throw invalid(field, 'must not contain control characters')
  return v
}

/**
 * The parsed private key, or a VALIDATION_FAILED naming the field to fix: `value.passphrase`
 * when the key is encrypted and the passphrase is missing or wrong, `value.privateKey` when the
 * text is not a private key ssh2 can use (OpenSSH "BEGIN OPENSSH PRIVATE KEY", or PEM RSA/EC).
 */
export function parsePrivateKey (privateKey: string, passphrase: string | undefined): ParsedKey {
  const parsed = utils.parseKey(privateKey, passphrase)
  if (parsed instanceof Error) {
    // ssh2's messages are fixed texts (they never quote the key); they are matched, not passed on
    if (/no passphrase given/i.test(parsed.message)) throw invalid('value.passphrase', 'is required: the private key is encrypted')
    if (/bad passphrase/i.test(parsed.message)) throw invalid('value.passphrase', 'does not decrypt the private key')
    throw invalid('value.privateKey', 'is not a private key in OpenSSH or PEM format (paste the whole file, BEGIN and END lines included)')
  }
  const key = Array.isArray(parsed) ? parsed[0] as ParsedKey : parsed
  if (!key.isPrivateKey()) throw invalid('value.privateKey', 'is a public key; paste the private key (the file without ".pub")')
  return key
}

/** "ssh-ed25519 SHA256:…": how a private key is shown (the fingerprint of its public half, as `ssh-keygen -l` prints it). */
export function describePrivateKey (key: ParsedKey): string {
  return `${key.type} ${fingerprintOf(key.getPublicSSH())}`
}

/**
 * An API value → the stored value. `input` has no unknown field and has `username` (the vault
 * checks both against SFTP_SECRET_FIELDS); everything else is checked here.
 */
export function parseSftpSecret (input: Record<string, unknown>): SftpSecretValue {
  const username = optionalString('value.username', input.username, MAX_USERNAME)
  if (username === undefined) throw invalid('value.username', 'is required')
  if (/\s/.test(username)) throw invalid('value.username', 'must not contain spaces')
  const password = optionalString('value.password', input.password, MAX_PASSWORD)
  const privateKey = optionalString('value.privateKey', input.privateKey, MAX_PRIVATE_KEY)
  const passphrase = optionalString('value.passphrase', input.passphrase, MAX_PASSWORD)
  if (password === undefined && privateKey === undefined) throw invalid('value', 'needs a password or a privateKey (or both)')
  if (passphrase !== undefined) {
    if (privateKey === undefined) throw invalid('value.passphrase', 'is only used to decrypt a privateKey; there is none')
    if (!(utils.parseKey(privateKey) instanceof Error)) throw invalid('value.passphrase', 'is set, but the private key is not encrypted; leave it out')
  }
  if (privateKey !== undefined) parsePrivateKey(privateKey, passphrase)
  return {
    username,
    ...(password !== undefined ? { password } : {}),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
  }
}

/**
 * The `redacted` object of API output: the user name in clear (it is shown by every SFTP client
 * and names the account, like an http_header's name), password and passphrase as
 * `mt_byo_****` + last four, the private key as its type and fingerprint.
 */
export function redactSftpSecret (value: SftpSecretValue): Record<string, string> {
  const out: Record<string, string> = { username: value.username }
  if (value.password !== undefined) out.password = redactValue(value.password)
  if (value.privateKey !== undefined) {
    let shown: string
    try {
      shown = describePrivateKey(parsePrivateKey(value.privateKey, value.passphrase))
    } catch {
      // a stored value was parsed when it was saved; this is only reachable for a broken row
      shown = 'unreadable private key'
    }
    out.privateKey = shown
  }
  if (value.passphrase !== undefined) out.passphrase = redactValue(value.passphrase)
  return out
}

/**
 * Every sensitive string of a value as it is, for scrubbing logs and error text: the password,
 * the passphrase, the private key's text and each of its lines (a log line may carry one line of
 * a multi-line value). The user name is not secret. The vault adds the encoded forms.
 */
export function sftpSecretStrings (value: SftpSecretValue): string[] {
  const out: string[] = []
  if (value.password !== undefined) out.push(value.password)
  if (value.passphrase !== undefined) out.push(value.passphrase)
  if (value.privateKey !== undefined) {
    out.push(value.privateKey)
    // the base64 body lines; the BEGIN/END armour lines are not secret and would scrub every key's
    for (const line of value.privateKey.split(/\r?\n/)) {
      const body = line.trim()
      if (body.length >= 16 && !body.startsWith('-----') && !/^[A-Za-z-]+:/.test(body)) out.push(body)
    }
  }
  return out
}
