import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import util from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/config.js'
import { Keyring, createMasterKey, loadMasterKey, masterKeyId, masterKeyPath, writeMasterKeyFile } from '../../../src/vault/keyring.js'

describe('MasterKey and Keyring', () => {
  const a = crypto.randomBytes(32)
  const b = crypto.randomBytes(32)

  it('id is the first 16 hex of sha256("ferry-kek-id" || key)', () => {
    const expected = crypto.createHash('sha256').update(Buffer.concat([Buffer.from('ferry-kek-id'), a])).digest('hex').slice(0, 16)
    expect(masterKeyId(a)).toBe(expected)
    expect(createMasterKey(a, 3)).toMatchObject({ id: expected, version: 3 })
    expect(createMasterKey(a).key.equals(a)).toBe(true)
  })

  it('refuses keys that are not 32 bytes and bad versions', () => {
    expect(() => createMasterKey(Buffer.alloc(16))).toThrow(TypeError)
    expect(() => createMasterKey(a, 0)).toThrow(TypeError)
    expect(() => createMasterKey(a, 1.5)).toThrow(TypeError)
  })

  it('active is the highest version, whatever the order given', () => {
    const ring = new Keyring([createMasterKey(b, 7), createMasterKey(a, 2)])
    expect(ring.active.id).toBe(masterKeyId(b))
    expect(ring.keys.map(k => k.version)).toEqual([2, 7])
    expect(ring.byId(masterKeyId(a))?.version).toBe(2)
    expect(ring.byId('0000000000000000')).toBeUndefined()
  })

  it('refuses empty rings, duplicate keys or versions, and ids that do not match their key', () => {
    expect(() => new Keyring([])).toThrow(TypeError)
    expect(() => new Keyring([createMasterKey(a, 1), createMasterKey(a, 2)])).toThrow(/twice/)
    expect(() => new Keyring([createMasterKey(a, 1), createMasterKey(b, 1)])).toThrow(/version 1/)
    expect(() => new Keyring([{ version: 1, id: masterKeyId(b), key: a }])).toThrow(/does not match/)
  })

  it('with() adds a key, without() retires one but never the active key', () => {
    const ring = new Keyring([createMasterKey(a, 1)]).with(createMasterKey(b, 2))
    expect(ring.active.id).toBe(masterKeyId(b))
    expect(ring.without(masterKeyId(a)).ids).toEqual([masterKeyId(b)])
    expect(() => ring.without(masterKeyId(b))).toThrow(/active/)
  })

  it('never prints key bytes (JSON, inspect, spread)', () => {
    const mk = createMasterKey(a, 1)
    const ring = new Keyring([mk])
    const texts = [
      JSON.stringify(mk), JSON.stringify(ring), JSON.stringify({ ring, mk }),
      util.inspect(mk), util.inspect(ring), util.inspect({ ...mk }), util.inspect(mk, { showHidden: false, depth: 5 }),
    ]
    for (const text of texts) {
      expect(text).not.toContain(a.toString('base64'))
      expect(text).not.toContain(a.toString('hex'))
      expect(text).not.toMatch(/"data":\[/)
      expect(text).not.toContain('<Buffer')
    }
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ active: mk.id, keys: [{ version: 1, id: mk.id }] })
  })
})

describe('loadMasterKey', () => {
  let dir: string
  beforeEach(async () => { dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-vault-')) })
  afterEach(async () => { await fs.rm(dir, { recursive: true, force: true }) })

  const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777

  it('generates master.key with mode 0600 and reads the same key back', async () => {
    const dataDir = path.join(dir, 'nested', 'data')
    const key = await loadMasterKey({ dataDir })
    expect(key).toHaveLength(32)
    const file = masterKeyPath(dataDir)
    expect(file).toBe(path.join(dataDir, 'master.key'))
    if (process.platform !== 'win32') expect(await mode(file)).toBe(0o600)
    expect(Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64').equals(key)).toBe(true)
    const again = await loadMasterKey({ dataDir })
    expect(again.equals(key)).toBe(true)
    expect((await fs.readdir(dataDir)).filter(f => f.endsWith('.tmp'))).toEqual([])
  })

  it('FERRY_MASTER_KEY (config.masterKey) wins over master.key', async () => {
    const fileKey = await loadMasterKey({ dataDir: dir })
    const envKey = crypto.randomBytes(32)
    const key = await loadMasterKey({ dataDir: dir, masterKey: envKey })
    expect(key.equals(envKey)).toBe(true)
    expect(key.equals(fileKey)).toBe(false)
  })

  it('with FERRY_MASTER_KEY set, no file is created', async () => {
    const dataDir = path.join(dir, 'fresh')
    await loadMasterKey({ dataDir, masterKey: crypto.randomBytes(32) })
    await expect(fs.stat(masterKeyPath(dataDir))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('reads an existing file (base64, trailing newline) and warns if its mode is looser than 0600', async () => {
    const key = crypto.randomBytes(32)
    const file = masterKeyPath(dir)
    await fs.writeFile(file, key.toString('base64') + '\n', { mode: 0o644 })
    await fs.chmod(file, 0o644)
    const warnings: string[] = []
    const loaded = await loadMasterKey({ dataDir: dir }, { logger: { warn: (msg) => warnings.push(msg) } })
    expect(loaded.equals(key)).toBe(true)
    if (process.platform !== 'win32') {
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/mode 0644.*chmod 600/)
      expect(warnings[0]).not.toContain(key.toString('base64'))
    }
    await fs.chmod(file, 0o600)
    warnings.length = 0
    await loadMasterKey({ dataDir: dir }, { logger: { warn: (msg) => warnings.push(msg) } })
    expect(warnings).toEqual([])
  })

  it('refuses a corrupt key file instead of replacing it', async () => {
    const file = masterKeyPath(dir)
    await fs.writeFile(file, Buffer.alloc(16).toString('base64') + 'AAAAAAAAAAAAAAAAAAAAAAA', { mode: 0o600 })
    await expect(loadMasterKey({ dataDir: dir })).rejects.toBeInstanceOf(ConfigError)
    await fs.writeFile(file, 'not base64 at all, but long enough to not look like a partial write!!', { mode: 0o600 })
    await expect(loadMasterKey({ dataDir: dir })).rejects.toThrow(/master\.key does not hold a master key/)
  })

  it('concurrent first starts agree on one key', async () => {
    const keys = await Promise.all(Array.from({ length: 12 }, async () => loadMasterKey({ dataDir: dir })))
    for (const k of keys) expect(k.equals(keys[0])).toBe(true)
    expect((await fs.readdir(dir)).sort()).toEqual(['master.key'])
  })

  it('writeMasterKeyFile replaces a key file atomically with mode 0600', async () => {
    const file = masterKeyPath(dir)
    await loadMasterKey({ dataDir: dir })
    const next = crypto.randomBytes(32)
    await writeMasterKeyFile(file, next)
    if (process.platform !== 'win32') expect(await mode(file)).toBe(0o600)
    expect((await loadMasterKey({ dataDir: dir })).equals(next)).toBe(true)
    expect(await fs.readdir(dir)).toEqual(['master.key'])
  })
})
