import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, type Config } from '../../src/config.js'
import type { Db } from '../../src/db/client.js'
import { migrate } from '../../src/db/migrate.js'
import { AppError } from '../../src/errors.js'
import { createLogger } from '../../src/log.js'
import { startRuntime, type Runtime } from '../../src/runtime.js'
import { masterKeyId, masterKeyPath, generateMasterKey, writeMasterKeyFile } from '../../src/vault/keyring.js'
import type { SecretType, SecretValues } from '../../src/vault/secret.js'
import { rotateMasterKeyCommand, RotateUsageError } from '../../src/vault/cli.js'
import { openVault, rotateMasterKey, type Vault } from '../../src/vault/vault.js'
import { ADMIN_KEY } from '../helpers/app.js'
import { createTestDatabase, type TestDatabase } from '../helpers/db.js'

/**
 * Master key rotation and starts with the wrong key, on one database that outlives several
 * runtimes (each runtime gets a handle whose close() is a no-op).
 */
let database: TestDatabase
let db: Db
let dir: string
const KEY_A = Buffer.alloc(32, 0xa1)
const logs: string[] = []

const keep = (d: Db): Db => ({ ...d, close: async () => {} })

function configFor (env: Record<string, string>): Config {
  return loadConfig({ FERRY_DATA_DIR: dir, FERRY_BOOTSTRAP_API_KEY: ADMIN_KEY, LOG_LEVEL: 'debug', ...env })
}

async function start (env: Record<string, string>): Promise<Runtime> {
  const logger = createLogger({ level: 'debug', destination: new Writable({ write (chunk, _e, cb) { logs.push(chunk.toString()); cb() } }) })
  return startRuntime(configFor(env), { role: 'all', logger, db: keep(db), print: () => {} })
}

const envKey = (key: Buffer) => ({ FERRY_MASTER_KEY: key.toString('base64') })

interface Stored { id: string, orgId: string, type: SecretType, value: SecretValues[SecretType] }
const stored: Stored[] = []

async function readAll (vault: Vault): Promise<void> {
  for (const s of stored) {
    expect(await vault.withSecret(db, s.orgId, s.id, s.type, async v => v.reveal()), s.id).toEqual(s.value)
  }
}

const sealedColumns = async () => (await db.query<{
  id: string, ciphertext: Uint8Array, nonce: Uint8Array, tag: Uint8Array, wrapped_key: Uint8Array, kek_id: string
}>('SELECT id, ciphertext, nonce, tag, wrapped_key, kek_id FROM secrets ORDER BY id')).rows
  .map(r => ({
    id: r.id, ciphertext: Buffer.from(r.ciphertext).toString('hex'), nonce: Buffer.from(r.nonce).toString('hex'), tag: Buffer.from(r.tag).toString('hex'),
    wrappedKey: Buffer.from(r.wrapped_key).toString('hex'), kekId: r.kek_id,
  }))

const masterKeys = async () => (await db.query<{ id: string, version: number, retired_at: unknown }>(
  'SELECT id, version, retired_at FROM vault_master_keys ORDER BY version')).rows
  .map(r => ({ id: r.id, version: r.version, retired: r.retired_at !== null }))

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-rotation-'))
  database = await createTestDatabase()
  db = database.db
  // secrets of every type in two organisations, through the API
  const runtime = await start(envKey(KEY_A))
  try {
    const api = (method: string, url: string, body?: unknown, key = ADMIN_KEY) =>
      runtime.app!.inject({ method: method as 'POST', url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) })
    const other = (await api('POST', '/api/v1/admin/orgs', { name: 'other' })).json().apiKey as string
    const values: Array<[SecretType, SecretValues[SecretType] | undefined]> = [
      ['aws', { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }],
      ['aws', { accessKeyId: 'AKIAOTHER0000000000A', secretAccessKey: 'another/secret/key/value', sessionToken: 'FwoGZXIvYXdzEXAMPLE' }],
      ['webhook', undefined],
      ['http_header', { name: 'Authorization', value: 'Bearer abcdefghijklmnop' }],
    ]
    for (const key of [ADMIN_KEY, other]) {
      for (const [i, [type, value]] of values.entries()) {
        const res = await api('POST', '/api/v1/secrets', { name: `${type}-${i}`, type, ...(value ? { value } : {}) }, key)
        expect(res.statusCode).toBe(201)
        const orgId = (await db.query<{ org_id: string }>('SELECT org_id FROM secrets WHERE id = $1', [res.json().id])).rows[0].org_id
        stored.push({ id: res.json().id, orgId, type, value: value ?? { signingSecret: res.json().signingSecret } })
      }
    }
  } finally {
    await runtime.stop()
  }
})
afterAll(async () => {
  await database?.drop()
  await fs.rm(dir, { recursive: true, force: true })
})

describe('a start with the wrong master key', () => {
  it('is refused with MASTER_KEY_MISMATCH naming the expected key id, before anything else starts', async () => {
    const wrong = Buffer.alloc(32, 0x5e)
    const err = await start(envKey(wrong)).then(async (r) => { await r.stop(); return undefined }, (e: unknown) => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ code: 'MASTER_KEY_MISMATCH', details: { loadedKeyId: masterKeyId(wrong), expectedKeyIds: [masterKeyId(KEY_A)] } })
    const message = (err as Error).message
    expect(message).not.toContain('\n')
    expect(message).toContain(`master key ${masterKeyId(KEY_A)}`)
    expect(message).toContain('FERRY_MASTER_KEY')
    expect(message).not.toContain(KEY_A.toString('base64'))
    expect(message).not.toContain(wrong.toString('base64'))
    // nothing was recorded for the wrong key
    expect((await masterKeys()).map(k => k.id)).toEqual([masterKeyId(KEY_A)])
  })

  it('a generated master.key (no FERRY_MASTER_KEY) is refused too, naming the file', async () => {
    const err = await start({}).then(async (r) => { await r.stop(); return undefined }, (e: unknown) => e)
    expect(err).toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
    expect((err as Error).message).toContain(masterKeyPath(dir))
    await fs.rm(masterKeyPath(dir))
  })

  it('the right key starts', async () => {
    const runtime = await start(envKey(KEY_A))
    try {
      await readAll(runtime.deps.vault)
    } finally {
      await runtime.stop()
    }
  })
})

describe('ferry vault rotate-master-key', () => {
  let keyB: Buffer
  let keyC: Buffer

  it('with FERRY_MASTER_KEY: needs --out, writes the new key there, re-wraps every data key and leaves ciphertext alone', async () => {
    await expect(rotateMasterKeyCommand(configFor(envKey(KEY_A)), { db, print: () => {} })).rejects.toBeInstanceOf(RotateUsageError)

    const before = await sealedColumns()
    const out = path.join(dir, 'new-master.key')
    const printed: string[] = []
    const outcome = await rotateMasterKeyCommand(configFor(envKey(KEY_A)), { db, out, print: l => printed.push(l), env: {} })
    keyB = Buffer.from((await fs.readFile(out, 'utf8')).trim(), 'base64')
    expect(keyB).toHaveLength(32)
    expect((await fs.stat(out)).mode & 0o777).toBe(0o600)
    expect(outcome).toMatchObject({ rewrapped: stored.length, fromKeyId: masterKeyId(KEY_A), toKeyId: masterKeyId(keyB), version: 2, keyFile: out })
    expect(printed.join('\n')).toContain('FERRY_MASTER_KEY')
    expect(printed.join('\n')).not.toContain(keyB.toString('base64'))

    const after = await sealedColumns()
    expect(after.map(r => r.id)).toEqual(before.map(r => r.id))
    for (const [i, row] of after.entries()) {
      expect(row.ciphertext).toBe(before[i].ciphertext)
      expect(row.nonce).toBe(before[i].nonce)
      expect(row.tag).toBe(before[i].tag)
      expect(row.wrappedKey).not.toBe(before[i].wrappedKey)
      expect(row.kekId).toBe(masterKeyId(keyB))
    }
    expect(await masterKeys()).toEqual([
      { id: masterKeyId(KEY_A), version: 1, retired: true },
      { id: masterKeyId(keyB), version: 2, retired: false },
    ])
    await readAll(await openVault(db, keyB))
  })

  it('after the rotation the old key is refused at start and the new key starts with every secret readable', async () => {
    const old = await start(envKey(KEY_A)).then(async (r) => { await r.stop(); return undefined }, (e: unknown) => e)
    expect(old).toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
    expect((old as Error).message).toContain(masterKeyId(keyB))

    const runtime = await start(envKey(keyB))
    try {
      await readAll(runtime.deps.vault)
      const list = await runtime.app!.inject({ method: 'GET', url: '/api/v1/secrets', headers: { authorization: `Bearer ${ADMIN_KEY}` } })
      expect(list.json().items).toHaveLength(stored.length / 2)
    } finally {
      await runtime.stop()
    }
  })

  it('a process still holding the retired key can neither read nor seal (it must be restarted)', async () => {
    const stale = await openVault(db, keyB)
    keyC = generateMasterKey()
    const s = stored[0]
    await rotateMasterKey(db, keyB, keyC)
    await expect(stale.withSecret(db, s.orgId, s.id, s.type, async () => 1)).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
    await expect(stale.create(s.orgId, { name: 'late', type: 'webhook' })).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
    await expect(stale.update(s.orgId, s.id, { value: s.value })).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
    await readAll(await openVault(db, keyC))
  })

  it('refuses to rotate from a key that is not the active one, or to a key used before', async () => {
    await expect(rotateMasterKey(db, keyB, generateMasterKey())).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
    await expect(rotateMasterKey(db, keyC, KEY_A)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(rotateMasterKey(db, keyC, keyC)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('with master.key: replaces the file (0600) atomically, leaves no .next behind', async () => {
    const file = masterKeyPath(dir)
    await writeMasterKeyFile(file, keyC)
    const newKey = generateMasterKey()
    const newKeyFile = path.join(dir, 'chosen.key')
    await writeMasterKeyFile(newKeyFile, newKey)
    const outcome = await rotateMasterKeyCommand(configFor({}), { db, newKeyFile, print: () => {}, env: {} })
    expect(outcome).toMatchObject({ rewrapped: stored.length, fromKeyId: masterKeyId(keyC), toKeyId: masterKeyId(newKey), version: 4, keyFile: file })
    expect(Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64').equals(newKey)).toBe(true)
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600)
    await expect(fs.access(`${file}.next`)).rejects.toThrow()
    const runtime = await start({})
    try {
      await readAll(runtime.deps.vault)
    } finally {
      await runtime.stop()
    }
  })

  it('a rotation interrupted after its commit is named at start and finished by running the command again', async () => {
    const file = masterKeyPath(dir)
    const current = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64')
    const next = generateMasterKey()
    // the crash: .next written, transaction committed, rename never happened
    await writeMasterKeyFile(`${file}.next`, next)
    await rotateMasterKey(db, current, next)
    const err = await start({}).then(async (r) => { await r.stop(); return undefined }, (e: unknown) => e)
    expect(err).toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
    expect((err as Error).message).toContain(masterKeyId(next))
    expect((err as Error).message).toContain('master.key.next')

    const printed: string[] = []
    const outcome = await rotateMasterKeyCommand(configFor({}), { db, print: l => printed.push(l), env: {} })
    expect(outcome).toMatchObject({ resumed: true, toKeyId: masterKeyId(next) })
    expect(printed.join('\n')).toContain('interrupted')
    const runtime = await start({})
    try {
      await readAll(runtime.deps.vault)
    } finally {
      await runtime.stop()
    }
  })

  it('a stale .next from a rotation that never committed is discarded', async () => {
    const file = masterKeyPath(dir)
    await writeMasterKeyFile(`${file}.next`, generateMasterKey())
    const outcome = await rotateMasterKeyCommand(configFor({}), {
      db, print: () => {}, env: { FERRY_NEW_MASTER_KEY: Buffer.alloc(32, 0x77).toString('base64') },
    })
    expect(outcome.toKeyId).toBe(masterKeyId(Buffer.alloc(32, 0x77)))
    await readAll(await openVault(db, Buffer.alloc(32, 0x77)))
  })

  it('a row that cannot be unwrapped stops the rotation before anything changes, naming the secret', async () => {
    const current = Buffer.alloc(32, 0x77)
    const victim = stored[1].id
    await db.query('UPDATE secrets SET wrapped_key = set_byte(wrapped_key, 20, get_byte(wrapped_key, 20) # 1) WHERE id = $1', [victim])
    const before = await sealedColumns()
    const keysBefore = await masterKeys()
    const err = await rotateMasterKeyCommand(configFor({}), { db, print: () => {}, env: {} }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'SECRET_DECRYPT_FAILED', details: { secretIds: [victim] } })
    expect((err as Error).message).toContain(victim)
    expect(await sealedColumns()).toEqual(before)
    expect(await masterKeys()).toEqual(keysBefore)
    // the key file is untouched and no new key is left lying around
    expect(Buffer.from((await fs.readFile(masterKeyPath(dir), 'utf8')).trim(), 'base64').equals(current)).toBe(true)
    await expect(fs.access(`${masterKeyPath(dir)}.next`)).rejects.toThrow()
    await db.query('UPDATE secrets SET wrapped_key = set_byte(wrapped_key, 20, get_byte(wrapped_key, 20) # 1) WHERE id = $1', [victim])
    await readAll(await openVault(db, current))
  })

  it('with neither FERRY_MASTER_KEY nor master.key there is nothing to rotate', async () => {
    const empty = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-rotation-empty-'))
    try {
      const config = loadConfig({ FERRY_DATA_DIR: empty })
      await expect(rotateMasterKeyCommand(config, { db, print: () => {}, env: {} })).rejects.toBeInstanceOf(RotateUsageError)
      await expect(fs.access(masterKeyPath(empty))).rejects.toThrow() // and none was generated
    } finally {
      await fs.rm(empty, { recursive: true, force: true })
    }
  })
})

describe('an empty vault', () => {
  let fresh: TestDatabase | undefined
  afterAll(async () => { await fresh?.drop() })

  it('accepts a new master key (nothing depends on the old one) and records it as the active version', async () => {
    fresh = await createTestDatabase()
    const k1 = generateMasterKey()
    const k2 = generateMasterKey()
    await migrate(fresh.db)
    await openVault(fresh.db, k1)
    const warnings: string[] = []
    const vault = await openVault(fresh.db, k2, { logger: { info: () => {}, warn: (_o: unknown, msg?: string) => { warnings.push(String(msg)) } } as never })
    expect(vault.activeKeyId).toBe(masterKeyId(k2))
    expect(warnings.join()).toContain('master key changed')
    const keys = (await fresh.db.query<{ id: string, version: number, retired_at: unknown }>('SELECT * FROM vault_master_keys ORDER BY version')).rows
    expect(keys.map(k => [k.id, k.version, k.retired_at !== null])).toEqual([[masterKeyId(k1), 1, true], [masterKeyId(k2), 2, false]])
    // a retired key is refused even then
    await expect(openVault(fresh.db, k1)).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' })
  })
})
