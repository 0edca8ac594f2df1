import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import util from 'node:util'
import type { Config } from '../config.js'
import { ConfigError } from '../config.js'

/** Master keys (key-encryption keys, KEKs) are AES-256 keys. */
export const MASTER_KEY_BYTES = 32

/** File name of the generated master key under `$FERRY_DATA_DIR`. */
export const MASTER_KEY_FILE = 'master.key'

/**
 * One version of the vault's key-encryption key.
 *
 * `id` is a fingerprint of the key (first 16 hex characters of sha256("ferry-kek-id" || key)); it
 * is stored next to every wrapped data key, so a row says which key it needs without revealing it.
 * `version` orders keys: the highest version in a {@link Keyring} wraps new data keys.
 *
 * Build these with {@link createMasterKey}: it makes `key` non-enumerable, so logging or
 * JSON-serialising a MasterKey (or a Keyring) never prints key bytes.
 */
export interface MasterKey {
  readonly version: number
  readonly id: string
  readonly key: Buffer
}

/** The public fingerprint of a master key. Domain-separated, so it is not a plain hash of the key. */
export function masterKeyId (key: Buffer): string {
  return crypto.createHash('sha256').update('ferry-kek-id').update(key).digest('hex').slice(0, 16)
}

/** A MasterKey for `key` (32 bytes) with the given version (a positive integer, default 1). */
export function createMasterKey (key: Buffer, version = 1): MasterKey {
  if (!Buffer.isBuffer(key) || key.length !== MASTER_KEY_BYTES) {
    throw new TypeError(`a master key must be ${MASTER_KEY_BYTES} bytes`)
  }
  if (!Number.isSafeInteger(version) || version < 1) throw new TypeError('a master key version must be a positive integer')
  const masterKey = { version, id: masterKeyId(key) } as { version: number, id: string, key: Buffer }
  Object.defineProperty(masterKey, 'key', { value: key, enumerable: false, writable: false, configurable: false })
  Object.defineProperty(masterKey, util.inspect.custom, {
    value: () => `MasterKey { version: ${version}, id: '${masterKey.id}' }`,
    enumerable: false,
  })
  return Object.freeze(masterKey)
}

/** 32 fresh random bytes. */
export function generateMasterKey (): Buffer {
  return crypto.randomBytes(MASTER_KEY_BYTES)
}

/**
 * The master keys this process can use. The key with the highest version is `active` (it wraps
 * new data keys and is the target of a rotation); every key in the ring can unwrap. Retiring a key
 * = building the next Keyring without it (see {@link Keyring.without}) once no row uses it.
 */
export class Keyring {
  readonly #keys: readonly MasterKey[]

  constructor (keys: readonly MasterKey[]) {
    if (keys.length === 0) throw new TypeError('a keyring needs at least one master key')
    const ids = new Set<string>()
    const versions = new Set<number>()
    for (const k of keys) {
      if (!Buffer.isBuffer(k.key) || k.key.length !== MASTER_KEY_BYTES) throw new TypeError(`master key ${k.id} is not ${MASTER_KEY_BYTES} bytes`)
      if (k.id !== masterKeyId(k.key)) throw new TypeError(`master key id ${k.id} does not match its key`)
      if (ids.has(k.id)) throw new TypeError(`master key ${k.id} is in the keyring twice`)
      if (versions.has(k.version)) throw new TypeError(`two master keys have version ${k.version}`)
      ids.add(k.id)
      versions.add(k.version)
    }
    this.#keys = Object.freeze([...keys].sort((a, b) => a.version - b.version))
  }

  /** The key that wraps new data keys: the highest version. */
  get active (): MasterKey {
    return this.#keys[this.#keys.length - 1]
  }

  /** All keys, oldest version first. */
  get keys (): readonly MasterKey[] {
    return this.#keys
  }

  /** The ids (fingerprints) of all keys, oldest version first. Safe to log. */
  get ids (): string[] {
    return this.#keys.map(k => k.id)
  }

  byId (id: string): MasterKey | undefined {
    return this.#keys.find(k => k.id === id)
  }

  has (id: string): boolean {
    return this.byId(id) !== undefined
  }

  /** A keyring with an extra key; it becomes active if its version is the highest. */
  with (key: MasterKey): Keyring {
    return new Keyring([...this.#keys, key])
  }

  /** The keyring without key `id` (retiring an old key). The active key cannot be retired. */
  without (id: string): Keyring {
    if (id === this.active.id) throw new TypeError('the active master key cannot be retired')
    return new Keyring(this.#keys.filter(k => k.id !== id))
  }

  toJSON (): { active: string, keys: Array<{ version: number, id: string }> } {
    return { active: this.active.id, keys: this.#keys.map(k => ({ version: k.version, id: k.id })) }
  }

  [util.inspect.custom] (): string {
    return `Keyring { active: '${this.active.id}', keys: [${this.#keys.map(k => `v${k.version}:${k.id}`).join(', ')}] }`
  }
}

// ---------------------------------------------------------------------------------------------
// Loading / generating the master key

export interface LoadMasterKeyOptions {
  /** where warnings go (a pino logger fits); default: process.emitWarning */
  logger?: { warn: (msg: string) => void }
}

/** `$dataDir/master.key` */
export function masterKeyPath (dataDir: string): string {
  return path.join(dataDir, MASTER_KEY_FILE)
}

/** Decodes the contents of a key file (base64 of 32 bytes, surrounding whitespace allowed). */
export function parseMasterKeyFile (text: string, file: string): Buffer {
  const trimmed = text.trim()
  const key = Buffer.from(trimmed, 'base64')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== MASTER_KEY_BYTES) {
    throw new ConfigError(
      'FERRY_DATA_DIR',
      `${file} does not hold a master key (base64 of ${MASTER_KEY_BYTES} bytes); restore it from a backup or set FERRY_MASTER_KEY`
    )
  }
  return key
}

const warn = (options: LoadMasterKeyOptions, msg: string): void => {
  if (options.logger !== undefined) options.logger.warn(msg)
  else process.emitWarning(msg, { code: 'FERRY_MASTER_KEY_FILE_MODE' })
}

async function readKeyFile (file: string, options: LoadMasterKeyOptions): Promise<Buffer> {
  const handle = await fs.open(file, 'r')
  try {
    const stat = await handle.stat()
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0')
      warn(options, `${file} has mode ${mode}; it holds the vault's master key and should be readable by its owner only (chmod 600 ${file})`)
    }
    return parseMasterKeyFile(await handle.readFile('utf8'), file)
  } finally {
    await handle.close()
  }
}

const isErrno = (err: unknown, ...codes: string[]): boolean =>
  typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '')

/**
 * Reads the key file; a file that exists but is still empty or short may be another process's
 * fallback write in progress, so that case is retried briefly before it counts as corrupt.
 */
async function readExistingKeyFile (file: string, options: LoadMasterKeyOptions): Promise<Buffer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await readKeyFile(file, options)
    } catch (err) {
      if (!(err instanceof ConfigError) || attempt >= 20) throw err
      const { size } = await fs.stat(file)
      if (size >= 44) throw err // a complete base64 key is 44 characters: this one is just wrong
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

/** Writes `content` to `file` with mode 0600, fsynced; `flag` 'wx' fails if the file exists. */
async function writeFile0600 (file: string, content: string, flag: 'wx' | 'w'): Promise<void> {
  const handle = await fs.open(file, flag, 0o600)
  try {
    await handle.chmod(0o600) // the umask may have taken bits away; never added any
    await handle.writeFile(content, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function syncDir (dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r')
    try { await handle.sync() } finally { await handle.close() }
  } catch { /* best effort: not every platform can fsync a directory */ }
}

/**
 * Creates `file` holding `key` if it does not exist yet, atomically: the key is written and
 * fsynced to a temporary file, then hard-linked into place (link never overwrites), so a
 * concurrent reader sees either no file or the whole key. Returns false if the file already
 * existed (the caller reads it). Falls back to an exclusive 'wx' create where hard links are not
 * supported.
 */
async function createKeyFileExclusive (file: string, key: Buffer): Promise<boolean> {
  const content = key.toString('base64') + '\n'
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`
  await writeFile0600(tmp, content, 'wx')
  try {
    await fs.link(tmp, file)
    return true
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false
    if (!isErrno(err, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV')) throw err
  } finally {
    await fs.rm(tmp, { force: true })
  }
  try {
    await writeFile0600(file, content, 'wx')
    return true
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false
    throw err
  }
}

/**
 * The vault's master key (32 bytes), in this order:
 * 1. `config.masterKey` (FERRY_MASTER_KEY) if set — it wins over any master.key file;
 * 2. `$dataDir/master.key` (base64) if it exists — with a warning if its mode is looser than 0600;
 * 3. otherwise a new random key, written to `$dataDir/master.key` with mode 0600. Several
 *    processes starting at once on one data dir all end up with the same key: only one file is
 *    ever created, the others read it.
 * A key file that is not base64 of 32 bytes stops the start with a ConfigError: generating a new
 * key over it would make every stored secret undecryptable.
 */
export async function loadMasterKey (config: Pick<Config, 'masterKey' | 'dataDir'>, options: LoadMasterKeyOptions = {}): Promise<Buffer> {
  if (config.masterKey !== undefined) {
    if (config.masterKey.length !== MASTER_KEY_BYTES) throw new ConfigError('FERRY_MASTER_KEY', `must be base64 of ${MASTER_KEY_BYTES} bytes`)
    return config.masterKey
  }
  const file = masterKeyPath(config.dataDir)
  try {
    return await readExistingKeyFile(file, options)
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err
  }
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const key = generateMasterKey()
  if (await createKeyFileExclusive(file, key)) {
    await syncDir(config.dataDir)
    return key
  }
  key.fill(0)
  return readExistingKeyFile(file, options)
}

/**
 * Replaces (or creates) a key file atomically with mode 0600: temp file, fsync, rename, fsync of
 * the directory. For `ferry vault rotate-master-key`, which should write the new key to disk
 * before re-wrapping any data key with it.
 */
export async function writeMasterKeyFile (file: string, key: Buffer): Promise<void> {
  if (key.length !== MASTER_KEY_BYTES) throw new TypeError(`a master key must be ${MASTER_KEY_BYTES} bytes`)
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile0600(tmp, key.toString('base64') + '\n', 'wx')
    await fs.rename(tmp, file)
  } finally {
    await fs.rm(tmp, { force: true })
  }
  await syncDir(path.dirname(file))
}
