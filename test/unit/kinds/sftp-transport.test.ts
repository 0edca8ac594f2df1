import { describe, expect, it } from 'vitest'
import { diagnoseSftpError } from '../../../src/kinds/sftp/diagnostics.js'
import { fingerprintOf, keyTypeOf, normaliseHostKey } from '../../../src/kinds/sftp/fingerprint.js'
import { basePath, isRecursive, keyFor, relativeKey } from '../../../src/kinds/sftp/transport.js'
import { Semaphore } from '../../../src/util/semaphore.js'

const ctx = { host: 'sftp.example.com', port: 22, path: '/in' }

describe('sftp keys and paths', () => {
  it('keys are full paths below path; relativeKey is what the pattern matches', () => {
    expect(basePath('/in/')).toBe('/in')
    expect(basePath('/')).toBe('/')
    expect(basePath('')).toBe('.')
    expect(basePath('in//daily/')).toBe('in/daily')
    expect(keyFor('/in/', 'a.csv')).toBe('/in/a.csv')
    expect(keyFor('/', 'a.csv')).toBe('/a.csv')
    expect(keyFor('.', 'd/a.csv')).toBe('d/a.csv')
    expect(relativeKey('/in', '/in/d/a.csv')).toBe('d/a.csv')
    expect(relativeKey('/in/', '/in/a.csv')).toBe('a.csv')
    expect(relativeKey('/', '/a.csv')).toBe('a.csv')
    expect(relativeKey('/in', '/inbox/a.csv')).toBeNull()
    expect(relativeKey('', 'a.csv')).toBe('a.csv')
  })

  it('lists recursively only for patterns that reach below the first level', () => {
    expect(isRecursive(undefined)).toBe(false)
    expect(isRecursive('*.csv')).toBe(false)
    expect(isRecursive('**/*.csv')).toBe(true)
    expect(isRecursive('daily/*.csv')).toBe(true)
    expect(isRecursive('**.csv')).toBe(true)
  })
})

describe('sftp host key fingerprints', () => {
  it('normalises a SHA256 fingerprint and refuses other forms', () => {
    const fp = 'SHA256:' + 'a'.repeat(43)
    expect(normaliseHostKey(fp)).toBe(fp)
    expect(normaliseHostKey(` ${fp}= `)).toBe(fp)
    expect(normaliseHostKey('a'.repeat(43))).toBeNull()
    expect(normaliseHostKey('MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48')).toBeNull()
    expect(normaliseHostKey('SHA256:short')).toBeNull()
    expect(normaliseHostKey('')).toBeNull()
  })

  it('fingerprints and names a wire-format key blob', () => {
    const name = Buffer.from('ssh-ed25519')
    const blob = Buffer.concat([Buffer.from([0, 0, 0, name.length]), name, Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)])
    expect(keyTypeOf(blob)).toBe('ssh-ed25519')
    expect(keyTypeOf(Buffer.from([0, 0]))).toBe('unknown')
    expect(fingerprintOf(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
  })
})

describe('sftp diagnostics', () => {
  it('classifies SFTP status codes and network errors', () => {
    const cases: Array<[unknown, string, string]> = [
      [Object.assign(new Error('No such file'), { code: 2 }), 'SFTP_PATH_NOT_FOUND', 'config'],
      [Object.assign(new Error('Permission denied'), { code: 3 }), 'SFTP_PERMISSION_DENIED', 'config'],
      [Object.assign(new Error('Failure'), { code: 4 }), 'SFTP_ERROR', 'transient'],
      [Object.assign(new Error('All configured authentication methods failed'), { level: 'client-authentication' }), 'SFTP_AUTH_FAILED', 'config'],
      [Object.assign(new Error('Timed out while waiting for handshake'), { level: 'client-timeout' }), 'SFTP_TIMEOUT', 'transient'],
      [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'SFTP_UNREACHABLE', 'transient'],
      [Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), 'SFTP_UNREACHABLE', 'transient'],
      [Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), 'SFTP_TIMEOUT', 'transient'],
      [new Error('No response from server'), 'SFTP_UNREACHABLE', 'transient'],
    ]
    for (const [err, code, failureType] of cases) {
      const diagnosed = diagnoseSftpError(err, ctx, 'list')
      expect(diagnosed.code).toBe(code)
      expect(diagnosed.failureType).toBe(failureType)
      expect(diagnosed.details).toMatchObject({ host: 'sftp.example.com', port: 22 })
    }
  })

  it('never passes the server\'s own text on', () => {
    const err = Object.assign(new Error('permission denied: /etc/secret-layout leaked by server'), { code: 3 })
    expect(diagnoseSftpError(err, ctx, 'list').message).not.toContain('leaked')
  })
})

describe('Semaphore', () => {
  it('admits `limit` holders and hands a released slot to the longest waiter', async () => {
    const s = new Semaphore(2)
    const order: number[] = []
    const r1 = await s.acquire()
    const r2 = await s.acquire()
    const third = s.acquire().then(r => { order.push(3); return r })
    const fourth = s.acquire().then(r => { order.push(4); return r })
    await new Promise(resolve => setImmediate(resolve))
    expect(order).toEqual([])
    r1()
    r1() // a second release of the same slot frees nothing
    const r3 = await third
    expect(order).toEqual([3])
    expect(s.inUse).toBe(2)
    r2()
    const r4 = await fourth
    r3()
    r4()
    expect(s.inUse).toBe(0)
    expect(() => new Semaphore(0)).toThrow(RangeError)
  })
})
