import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppError } from '../../src/errors.js'
import { AddressPolicy } from '../../src/net/address-policy.js'
import type { RemoteFile } from '../../src/connectors/remote-file.js'
import {
  MAX_CONNECTIONS_PER_SERVER, SftpTransport, relativeKey, withSftp, type SftpConfig, type SftpCredentials, type SftpTransportOptions,
} from '../../src/kinds/sftp/transport.js'
import { redactSftpSecret } from '../../src/kinds/sftp/secret.js'
import { generateKeyPair, sshdUnavailable, startSshd, type SshdHandle } from '../helpers/sshd.js'

// The transport touches no database: it runs once, in the pglite project.
const onPostgres = process.env.FERRY_TEST_DB === 'postgres'
const inCi = process.env.CI === 'true'
const unavailable = sshdUnavailable()
if (unavailable !== null && !onPostgres && !inCi) console.warn(`[sftp-transport.test] SKIPPED: ${unavailable}`)

// In CI a missing sshd is a failure, never a silent skip.
describe.runIf(!onPostgres && unavailable !== null && inCi)('SFTP transport against OpenSSH', () => {
  it('needs Debian\'s openssh-server in CI', () => {
    throw new Error(unavailable!)
  })
})

const loopback = new AddressPolicy(['127.0.0.0/8', '::1/128'])
const fast: SftpTransportOptions = { policy: loopback, connectTimeoutMs: 2000, readyTimeoutMs: 5000, stallTimeoutMs: 5000 }

async function caught (p: Promise<unknown>): Promise<AppError> {
  try {
    await p
  } catch (err) {
    return err as AppError
  }
  throw new Error('expected a rejection')
}

async function collect (t: SftpTransport): Promise<RemoteFile[]> {
  const out: RemoteFile[] = []
  for await (const page of t.list()) out.push(...page)
  return out
}

async function text (stream: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** A TCP server that accepts and never says a word (not even the SSH banner). */
async function silentServer (): Promise<{ port: number, accepted: () => number, open: () => number, close: () => Promise<void> }> {
  let accepted = 0
  const sockets = new Set<net.Socket>()
  const srv = net.createServer(socket => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    // read (and drop) what the client sends, so its close is noticed
    socket.resume()
  })
  await new Promise<void>(resolve => srv.listen(0, '127.0.0.1', resolve))
  return {
    port: (srv.address() as net.AddressInfo).port,
    accepted: () => accepted,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise(resolve => srv.close(resolve))
    },
  }
}

describe.skipIf(onPostgres || unavailable !== null)('SFTP transport against OpenSSH', () => {
  let sshd: SshdHandle
  let config: SftpConfig
  let password: SftpCredentials

  beforeAll(async () => {
    sshd = await startSshd()
    config = { host: sshd.host, port: sshd.port, path: path.join(sshd.root, 'in'), hostKey: sshd.hostKeyFingerprint }
    password = { username: sshd.username, password: sshd.password }
    await sshd.write('in/a.csv', 'sku,quantity\nA-1,3\n', new Date('2026-01-02T03:04:05Z'))
    await sshd.write('in/b.json', '[{"sku":"B-2"}]')
    await sshd.write('in/deep/c.csv', 'sku\nC-3\n')
    await sshd.write('in/deep/er/d.csv', 'sku\nD-4\n')
    await sshd.write('out/.keep', '')
  })

  afterAll(async () => {
    await sshd?.stop()
  })

  it('pings: connect, host key, password auth, readdir(path)', async () => {
    await withSftp(config, password, fast, t => t.ping())
  })

  it('refuses a host key that does not match, naming the fingerprint the server presented', async () => {
    const wrong = { ...config, hostKey: 'SHA256:' + 'A'.repeat(43) }
    const authAttempts = (): number => (sshd.log().match(/(Accepted|Failed) (password|publickey)/g) ?? []).length
    const before = authAttempts()
    const err = await caught(withSftp(wrong, password, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_HOST_KEY_MISMATCH')
    expect(err.failureType).toBe('config')
    expect(err.statusCode).toBe(422)
    expect(err.message).toContain(sshd.hostKeyFingerprint)
    expect(err.details).toMatchObject({
      reason: 'host_key_mismatch',
      field: 'config.hostKey',
      presentedFingerprint: sshd.hostKeyFingerprint,
      presentedKeyType: 'ssh-ed25519',
      expectedFingerprint: wrong.hostKey,
    })
    // the credentials were never sent: sshd saw no authentication attempt
    expect(authAttempts()).toBe(before)
  })

  it('refuses a missing host key the same way, telling what to pin', async () => {
    const err = await caught(withSftp({ ...config, hostKey: '' }, password, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_HOST_KEY_MISMATCH')
    expect(err.details).toMatchObject({ reason: 'host_key_missing', presentedFingerprint: sshd.hostKeyFingerprint })
    expect(err.message).toContain(`set hostKey to "${sshd.hostKeyFingerprint}"`)
  })

  it('accepts the pinned fingerprint with base64 padding', async () => {
    await withSftp({ ...config, hostKey: sshd.hostKeyFingerprint + '=' }, password, fast, t => t.ping())
  })

  it('a wrong password is a config error that does not carry the password', async () => {
    const wrongPassword = 'not-the-Password-42'
    const err = await caught(withSftp(config, { username: sshd.username, password: wrongPassword }, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_AUTH_FAILED')
    expect(err.failureType).toBe('config')
    expect(err.details).toMatchObject({ reason: 'auth_failed', field: 'config.secretRef' })
    expect(JSON.stringify({ message: err.message, details: err.details })).not.toContain(wrongPassword)
  })

  it('answers a keyboard-interactive password prompt (servers that take passwords only through PAM)', async () => {
    const pam = await startSshd({ passwordMethod: 'keyboard-interactive' })
    try {
      const pamConfig = { ...config, port: pam.port, hostKey: pam.hostKeyFingerprint, path: pam.root }
      await withSftp(pamConfig, password, fast, t => t.ping())
      const err = await caught(withSftp(pamConfig, { ...password, password: 'not-the-Password-42' }, fast, t => t.ping()))
      expect(err.code).toBe('SFTP_AUTH_FAILED')
    } finally {
      await pam.stop()
    }
  })

  it('authenticates with a passphrase-protected OpenSSH private key', async () => {
    const key = generateKeyPair('ed25519', 'correct horse')
    await sshd.authorize(key.publicKey)
    const creds = { username: sshd.username, privateKey: key.privateKey, passphrase: 'correct horse' }
    await withSftp(config, creds, fast, t => t.ping())

    const err = await caught(withSftp(config, { ...creds, passphrase: 'wrong horse' }, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_AUTH_FAILED')
    expect(err.details).toMatchObject({ reason: 'private_key_unreadable' })
    expect(err.message).not.toContain('wrong horse')
    expect(err.message).not.toContain('PRIVATE KEY')
  })

  it('shows a private key with the fingerprint ssh-keygen prints for it', () => {
    for (const type of ['ed25519', 'rsa', 'ecdsa'] as const) {
      const key = generateKeyPair(type, 'a passphrase')
      const shown = redactSftpSecret({ username: 'u', privateKey: key.privateKey, passphrase: 'a passphrase' }).privateKey
      expect(shown.split(' ')[1]).toBe(key.fingerprint)
    }
  })

  it('authenticates with an RSA key', async () => {
    const key = generateKeyPair('rsa')
    await sshd.authorize(key.publicKey)
    await withSftp(config, { username: sshd.username, privateKey: key.privateKey }, fast, t => t.ping())
  })

  it('a key the server does not know is refused as an auth failure', async () => {
    const key = generateKeyPair('ed25519')
    const err = await caught(withSftp(config, { username: sshd.username, privateKey: key.privateKey }, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_AUTH_FAILED')
  })

  it('lists the files directly under path (keys are full paths, etag size:mtime)', async () => {
    const files = await withSftp(config, password, fast, collect)
    expect(files.map(f => relativeKey(config.path, f.key))).toEqual(['a.csv', 'b.json'])
    const a = files[0]
    expect(a.key).toBe(path.join(config.path, 'a.csv'))
    expect(a.size).toBe(19)
    expect(a.lastModified?.toISOString()).toBe('2026-01-02T03:04:05.000Z')
    expect(a.etag).toBe(`19:${Date.parse('2026-01-02T03:04:05Z') / 1000}`)
  })

  it('lists recursively when the pattern reaches below the first level', async () => {
    for (const pattern of ['**/*.csv', 'deep/*.csv']) {
      const files = await withSftp({ ...config, pattern }, password, fast, collect)
      expect(files.map(f => relativeKey(config.path, f.key)).sort()).toEqual(['a.csv', 'b.json', 'deep/c.csv', 'deep/er/d.csv'])
    }
    // an unreadable subdirectory is left out, not a failed listing
    const locked = path.join(config.path, 'private')
    await fs.mkdir(locked, { mode: 0o700 }) // owned by root
    try {
      const files = await withSftp({ ...config, pattern: '**' }, password, fast, collect)
      expect(files).toHaveLength(4)
    } finally {
      await fs.rmdir(locked)
    }
    const flat = await withSftp({ ...config, pattern: '*.csv' }, password, fast, collect)
    expect(flat.map(f => relativeKey(config.path, f.key))).toEqual(['a.csv', 'b.json'])
  })

  it('lists a symlinked file as the file and does not follow a symlinked directory', async () => {
    const dir = path.join(sshd.root, 'links')
    await sshd.write('links/real.csv', 'sku\nL-1\n')
    await fs.symlink(path.join(dir, 'real.csv'), path.join(dir, 'alias.csv'))
    await fs.symlink(dir, path.join(dir, 'loop'))
    const files = await withSftp({ ...config, path: dir, pattern: '**' }, password, fast, collect)
    expect(files.map(f => relativeKey(dir, f.key))).toEqual(['alias.csv', 'real.csv'])
  })

  it('the etag changes when a file changes', async () => {
    await sshd.write('etag/f.csv', 'sku\nE-1\n', new Date('2026-03-01T00:00:00Z'))
    const dir = { ...config, path: path.join(sshd.root, 'etag') }
    const [before] = await withSftp(dir, password, fast, collect)
    await sshd.write('etag/f.csv', 'sku\nE-2\n', new Date('2026-03-01T00:00:01Z'))
    const [after] = await withSftp(dir, password, fast, collect)
    expect(after.key).toBe(before.key)
    expect(after.etag).not.toBe(before.etag)
  })

  it('streams a file larger than one read, and reads its head', async () => {
    const big = Array.from({ length: 20_000 }, (_, i) => `SKU-${i},${i}`).join('\n') + '\n'
    await sshd.write('big/big.csv', big)
    const dir = { ...config, path: path.join(sshd.root, 'big') }
    await withSftp(dir, password, fast, async t => {
      const [file] = await collect(t)
      expect(file.size).toBe(Buffer.byteLength(big))
      expect(await text(await t.open(file))).toBe(big)
      expect((await t.head(file, 12)).toString()).toBe(big.slice(0, 12))
      expect((await t.head({ ...file }, 10_000_000)).length).toBe(file.size)
    })
  })

  it('refuses to read a file rewritten since it was listed', async () => {
    await sshd.write('changing/f.csv', 'sku\nX-1\n', new Date('2026-04-01T00:00:00Z'))
    const dir = { ...config, path: path.join(sshd.root, 'changing') }
    await withSftp(dir, password, fast, async t => {
      const [file] = await collect(t)
      await sshd.write('changing/f.csv', 'sku\nX-1\nX-2\n', new Date('2026-04-01T00:00:05Z'))
      const err = await caught(t.open(file))
      expect(err.code).toBe('SFTP_FILE_CHANGED')
      expect(err.failureType).toBe('transient')

      // cut short after it was opened: the stream fails rather than ending early
      const [again] = await collect(t)
      const stream = await t.open(again)
      await fs.truncate(path.join(dir.path, 'f.csv'), 4)
      const cut = await caught(text(stream))
      expect(cut.code).toBe('SFTP_FILE_CHANGED')
    })
  })

  it('put writes key.partial, then renames it to key; a second put replaces the file', async () => {
    const out = path.join(sshd.root, 'out')
    const key = path.join(out, 'job-1.csv')
    let sawPartial = false
    const body = Readable.from((async function * () {
      yield Buffer.from('sku,quantity\n')
      // mid-upload: only the .partial file exists
      sawPartial = (await fs.stat(`${key}.partial`).then(() => true, () => false)) &&
        (await fs.stat(key).then(() => false, () => true))
      yield Buffer.from('A-1,3\n')
    })())
    const first = await withSftp({ ...config, path: out }, password, fast, t => t.put(key, body, 'text/csv'))
    expect(sawPartial).toBe(true)
    expect(await fs.readFile(key, 'utf8')).toBe('sku,quantity\nA-1,3\n')
    expect(first.etag).toMatch(/^19:\d+$/)

    await withSftp({ ...config, path: out }, password, fast, t => t.put(key, Readable.from([Buffer.from('sku\nB-2\n')]), 'text/csv'))
    expect(await fs.readFile(key, 'utf8')).toBe('sku\nB-2\n')
    expect((await fs.readdir(out)).sort()).toEqual(['.keep', 'job-1.csv'])
  })

  it('a failing body leaves neither the file nor its .partial', async () => {
    const out = path.join(sshd.root, 'out')
    const key = path.join(out, 'job-broken.csv')
    const body = Readable.from((async function * () {
      yield Buffer.from('sku\n')
      throw new Error('results query failed')
    })())
    const err = await caught(withSftp({ ...config, path: out }, password, fast, t => t.put(key, body, 'text/csv')))
    expect((err as Error).message).toBe('results query failed')
    // the server removes the .partial after the failed write: wait for that, not a fixed time
    await expect.poll(async () => (await fs.readdir(out)).filter(f => f.startsWith('job-broken')), { timeout: 5_000 }).toEqual([])
  })

  it('a missing path is a config error naming the path', async () => {
    const missing = path.join(sshd.root, 'nope')
    const err = await caught(withSftp({ ...config, path: missing }, password, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_PATH_NOT_FOUND')
    expect(err.failureType).toBe('config')
    expect(err.details).toMatchObject({ reason: 'path_not_found', field: 'config.path', path: missing })
    expect(err.message).toContain(missing)
  })

  it('a path that is a file is a config error, not a transient failure', async () => {
    const err = await caught(withSftp({ ...config, path: path.join(config.path, 'a.csv') }, password, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_PATH_NOT_FOUND')
    expect(err.details).toMatchObject({ reason: 'not_a_directory', field: 'config.path' })
  })

  it('a directory the user may not read is a permission error', async () => {
    const locked = path.join(sshd.root, 'locked')
    await fs.mkdir(locked, { mode: 0o700 }) // owned by root
    const err = await caught(withSftp({ ...config, path: locked }, password, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_PERMISSION_DENIED')
    expect(err.failureType).toBe('config')
  })

  it('a server that accepts and never speaks fails the handshake with a transient timeout', async () => {
    const silent = await silentServer()
    try {
      const started = Date.now()
      const err = await caught(withSftp({ ...config, port: silent.port }, password, { ...fast, readyTimeoutMs: 300 }, t => t.ping()))
      expect(err.code).toBe('SFTP_TIMEOUT')
      expect(err.failureType).toBe('transient')
      expect(err.details).toMatchObject({ reason: 'handshake_timeout' })
      expect(Date.now() - started).toBeLessThan(3000)
    } finally {
      await silent.close()
    }
  })

  it('a server that stalls mid-transfer fails the read with a transient timeout', async () => {
    await sshd.write('stall/f.csv', 'sku\n' + 'S-1\n'.repeat(100_000))
    const dir = { ...config, path: path.join(sshd.root, 'stall') }
    let thaw = (): void => {}
    try {
      const started = Date.now()
      // the server stays frozen until withSftp has returned: closing must not wait for it either
      const err = await caught(withSftp(dir, password, { ...fast, stallTimeoutMs: 500 }, async t => {
        const [file] = await collect(t)
        const stream = await t.open(file)
        thaw = sshd.freezeSessions()
        await text(stream)
      }))
      expect(err.code).toBe('SFTP_TIMEOUT')
      expect(err.failureType).toBe('transient')
      expect(err.details).toMatchObject({ reason: 'stalled' })
      expect(Date.now() - started).toBeLessThan(5000)
    } finally {
      thaw()
    }
  })

  it('a server that stalls during an upload fails the put with a transient timeout', async () => {
    const out = path.join(sshd.root, 'out')
    let thaw = (): void => {}
    try {
      const body = Readable.from((async function * () {
        yield Buffer.from('sku\n')
        thaw = sshd.freezeSessions()
        yield Buffer.from('S-1\n')
      })())
      const err = await caught(withSftp({ ...config, path: out }, password, { ...fast, stallTimeoutMs: 500 },
        t => t.put(path.join(out, 'job-stalled.csv'), body, 'text/csv')))
      expect(err.code).toBe('SFTP_TIMEOUT')
      expect(err.details).toMatchObject({ reason: 'stalled' })
    } finally {
      thaw()
    }
  })

  it('a dropped connection fails the request in flight (transient); the next call reconnects', async () => {
    await sshd.write('drop/f.csv', 'sku\n' + 'D-1\n'.repeat(100_000))
    const dir = { ...config, path: path.join(sshd.root, 'drop') }
    await withSftp(dir, password, fast, async t => {
      const [file] = await collect(t)
      const stream = await t.open(file)
      sshd.dropSessions()
      const err = await caught(text(stream))
      expect(err.code).toBe('SFTP_UNREACHABLE')
      expect(err.failureType).toBe('transient')
      expect(await text(await t.open(file))).toBe('sku\n' + 'D-1\n'.repeat(100_000))
    })
  })

  it('a closed port is unreachable (transient)', async () => {
    const silent = await silentServer()
    await silent.close()
    const err = await caught(withSftp({ ...config, port: silent.port }, password, fast, t => t.ping()))
    expect(err.code).toBe('SFTP_UNREACHABLE')
    expect(err.failureType).toBe('transient')
    expect(err.details).toMatchObject({ reason: 'connection_refused' })
  })

  it('the network guard refuses a loopback server unless the policy allows it, before connecting', async () => {
    const silent = await silentServer()
    try {
      const strict = { ...fast, policy: new AddressPolicy([]) }
      for (const host of ['127.0.0.1', 'localhost']) {
        const err = await caught(withSftp({ ...config, host, port: silent.port }, password, strict, t => t.ping()))
        expect(err.code).toBe('TARGET_NOT_ALLOWED')
        expect(err.details).toMatchObject({ field: 'config.host', addressClass: 'loopback' })
      }
      expect(silent.accepted()).toBe(0)
    } finally {
      await silent.close()
    }
  })

  it(`opens at most ${MAX_CONNECTIONS_PER_SERVER} connections to one server at a time`, async () => {
    const silent = await silentServer()
    try {
      let peak = 0
      const watch = setInterval(() => { peak = Math.max(peak, silent.open()) }, 10)
      const attempts = Array.from({ length: MAX_CONNECTIONS_PER_SERVER + 3 }, () =>
        caught(withSftp({ ...config, port: silent.port }, password, { ...fast, readyTimeoutMs: 300 }, t => t.ping())))
      const errors = await Promise.all(attempts)
      clearInterval(watch)
      expect(errors.every(e => e.code === 'SFTP_TIMEOUT')).toBe(true)
      expect(silent.accepted()).toBe(MAX_CONNECTIONS_PER_SERVER + 3)
      expect(peak).toBe(MAX_CONNECTIONS_PER_SERVER)
    } finally {
      await silent.close()
    }
  })
})
