import fs from 'node:fs/promises'
import path from 'node:path'
import type { Config } from '../config.js'
import { ConfigError } from '../config.js'
import { openDb } from '../db/open.js'
import type { Db } from '../db/client.js'
import { migrate } from '../db/migrate.js'
import { listMasterKeys } from '../db/sql/secrets.js'
import { isAppError } from '../errors.js'
import { generateMasterKey, loadMasterKey, masterKeyId, masterKeyPath, parseMasterKeyFile, writeMasterKeyFile, MASTER_KEY_BYTES } from './keyring.js'
import { rotateMasterKey, type RotationResult } from './vault.js'

/**
 * `ferry vault rotate-master-key`: re-wraps every data key under a new master key.
 *
 * Order of events, so that no crash can leave the vault without a key that opens it:
 * 1. the new key is written (0600, fsynced) BEFORE any data key depends on it:
 *    to `$FERRY_DATA_DIR/master.key.next`, or with FERRY_MASTER_KEY set, to `--out <file>`;
 * 2. one transaction re-wraps every data key, retires the old key and records the new one;
 * 3. `master.key.next` is renamed over `master.key` (atomic). With FERRY_MASTER_KEY the operator
 *    replaces the variable's value with the contents of the --out file.
 * A crash between 2 and 3 leaves master.key (old) and master.key.next (new, active): Ferry
 * refuses to start naming the expected key id, and running this command again finishes the move.
 */

export interface RotateOptions {
  /** file holding the new key (base64 of 32 bytes); default: FERRY_NEW_MASTER_KEY, else a generated key */
  newKeyFile?: string
  /** where the new key goes when FERRY_MASTER_KEY is set (required then) */
  out?: string
  /** environment for FERRY_NEW_MASTER_KEY (default process.env) */
  env?: Record<string, string | undefined>
  /** an open database (tests); otherwise opened from config and closed afterwards */
  db?: Db
  /** one line at a time, for a person (never key material) */
  print?: (line: string) => void
}

export interface RotateOutcome extends Partial<RotationResult> {
  /** where the new key was written */
  keyFile: string
  /** true when this run only completed a rotation a crash had interrupted */
  resumed?: boolean
}

/** A mistake in how the command was called: reported as one line, exit code 2. */
export class RotateUsageError extends Error {}

const exists = async (file: string): Promise<boolean> => fs.access(file).then(() => true, () => false)

async function readKeyFile (file: string): Promise<Buffer> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    throw new RotateUsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  return parseMasterKeyFile(text, file)
}

function keyFromEnv (raw: string): Buffer {
  const trimmed = raw.trim()
  const key = Buffer.from(trimmed, 'base64')
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== MASTER_KEY_BYTES) {
    throw new ConfigError('FERRY_NEW_MASTER_KEY', `must be base64 of ${MASTER_KEY_BYTES} bytes`)
  }
  return key
}

async function syncDir (dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r')
    try { await handle.sync() } finally { await handle.close() }
  } catch { /* best effort */ }
}

export async function rotateMasterKeyCommand (config: Config, options: RotateOptions = {}): Promise<RotateOutcome> {
  const print = options.print ?? ((line: string) => { process.stdout.write(line + '\n') })
  const env = options.env ?? process.env
  const fromEnv = config.masterKey !== undefined
  const keyFile = masterKeyPath(config.dataDir)

  // the current key: never generated here (a new key would not open anything)
  if (fromEnv && !options.out) {
    throw new RotateUsageError('FERRY_MASTER_KEY is set: pass --out <file> to receive the new key (then set FERRY_MASTER_KEY to its contents)')
  }
  if (!fromEnv && !await exists(keyFile)) {
    throw new RotateUsageError(`no master key to rotate: FERRY_MASTER_KEY is not set and ${keyFile} does not exist`)
  }
  if (fromEnv && await exists(options.out!)) throw new RotateUsageError(`${options.out} exists; --out must name a new file`)
  const currentKey = await loadMasterKey(config)

  const newKey = options.newKeyFile !== undefined
    ? await readKeyFile(options.newKeyFile)
    : env.FERRY_NEW_MASTER_KEY ? keyFromEnv(env.FERRY_NEW_MASTER_KEY) : generateMasterKey()

  const db = options.db ?? await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  try {
    await migrate(db)
    const target = fromEnv ? path.resolve(options.out!) : `${keyFile}.next`

    if (!fromEnv && await exists(target)) {
      // a previous run was interrupted: finish it if its transaction committed, else discard it
      const pending = await readKeyFile(target)
      const active = (await listMasterKeys(db)).find(k => k.retiredAt === null)
      if (active?.id === masterKeyId(pending)) {
        await fs.rename(target, keyFile)
        await syncDir(path.dirname(keyFile))
        print(`finished an interrupted rotation: ${keyFile} now holds the active master key ${active.id}`)
        return { keyFile, resumed: true, toKeyId: active.id }
      }
      await fs.rm(target, { force: true })
    }

    // 1. the new key is on disk before anything depends on it
    await writeMasterKeyFile(target, newKey)
    let result: RotationResult
    try {
      // 2. one transaction
      result = await rotateMasterKey(db, currentKey, newKey)
    } catch (err) {
      await fs.rm(target, { force: true })
      throw err
    }
    // 3. the new key takes the old one's place
    if (!fromEnv) {
      await fs.rename(target, keyFile)
      await syncDir(path.dirname(keyFile))
    }
    print(`re-wrapped ${result.rewrapped} data key(s): master key ${result.fromKeyId} (retired) → ${result.toKeyId} (version ${result.version})`)
    if (fromEnv) {
      print(`the new master key is in ${target} (mode 0600). Set FERRY_MASTER_KEY to its contents on every Ferry process before starting it again,`)
      print('store it where you store secrets, then delete the file.')
    } else {
      print(`${keyFile} now holds the new master key.`)
    }
    print(`Keep the old key ${result.fromKeyId} as long as you keep database backups made before this rotation: they need it.`)
    return { ...result, keyFile: fromEnv ? target : keyFile }
  } finally {
    if (!options.db) await db.close()
  }
}

/** The CLI action: runs the rotation, reports a failure as one line on stderr; returns the exit code. */
export async function runRotateMasterKey (config: Config, options: RotateOptions): Promise<number> {
  try {
    await rotateMasterKeyCommand(config, options)
    return 0
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const code = isAppError(err) ? `${err.code}: ` : ''
    process.stderr.write(`ferry vault rotate-master-key: ${code}${message}\n`)
    return err instanceof RotateUsageError || err instanceof ConfigError ? 2 : 1
  }
}
