import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Db, Queryable } from '../db/client.js'
import { countApiKeys, deleteInstanceAdminKeys, insertApiKey, lockInstanceAdminKey, type ApiKeyRecord } from '../db/sql/api-keys.js'
import { findHomeOrg, insertOrg, type Organisation } from '../db/sql/orgs.js'
import { recordAudit } from '../audit/audit.js'
import type { Role } from './roles.js'
import type { Logger } from '../log.js'
import { newId } from '../util/ids.js'

const KEY_PREFIX = 'fy_'

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex')

export const generateApiKey = (): string => KEY_PREFIX + randomBytes(32).toString('base64url')

/** Whether the key's `expiresAt` has passed (an expired key answers 401, like an unknown one). */
export const keyExpired = (key: Pick<ApiKeyRecord, 'expiresAt'>, now = Date.now()): boolean =>
  key.expiresAt !== null && Date.parse(key.expiresAt) <= now

export interface ApiKeyOptions {
  name: string
  /** default admin: the bootstrap key and every organisation's first key administer it */
  role?: Role
  expiresAt?: Date | null
  isInstanceAdmin?: boolean
  plaintext?: string
}

/** Creates a key and returns its plaintext: the only time the plaintext exists outside the caller. */
export async function createApiKey (q: Queryable, orgId: string, options: ApiKeyOptions): Promise<{ record: ApiKeyRecord, plaintext: string }> {
  const plaintext = options.plaintext ?? generateApiKey()
  const record = await insertApiKey(q, {
    id: newId(),
    orgId,
    name: options.name,
    hash: hashApiKey(plaintext),
    hint: plaintext.slice(-4),
    role: options.role ?? 'admin',
    isInstanceAdmin: options.isInstanceAdmin ?? false,
    expiresAt: options.expiresAt ?? null,
  })
  return { record, plaintext }
}

export async function createOrgWithAdminKey (
  q: Queryable, name: string, options: { isInstanceAdmin?: boolean, plaintext?: string } = {},
): Promise<{ org: Organisation, apiKey: string, key: ApiKeyRecord }> {
  const org = await insertOrg(q, { id: newId(), name })
  const { record, plaintext } = await createApiKey(q, org.id, { name: 'admin', ...options })
  return { org, apiKey: plaintext, key: record }
}

/**
 * First start: when no API key exists, creates org "default" whose admin key is also the
 * instance-admin key. FERRY_BOOTSTRAP_API_KEY supplies it; otherwise one is generated, printed once
 * and written to $FERRY_DATA_DIR/admin-api-key (0600). The advisory lock makes two processes
 * starting together on one PostgreSQL create one organisation, not two.
 */
export async function bootstrapAdminKey (
  db: Db, options: { bootstrapApiKey?: string, dataDir: string, logger: Logger, print?: (line: string) => void },
): Promise<{ created: boolean }> {
  const generated = await db.transaction(async (tx) => {
    await lockInstanceAdminKey(tx)
    if (await countApiKeys(tx) > 0) return null
    const { apiKey } = await createOrgWithAdminKey(tx, 'default', { isInstanceAdmin: true, plaintext: options.bootstrapApiKey })
    return options.bootstrapApiKey ? '' : apiKey
  })
  if (generated === null) return { created: false }
  if (generated === '') {
    options.logger.info('created organisation "default" with the key from FERRY_BOOTSTRAP_API_KEY')
    return { created: true }
  }
  const file = await writeAdminKeyFile(options.dataDir, generated)
  // Printed to the terminal once, on purpose and outside the logger: logs are shipped elsewhere.
  const print = options.print ?? ((line: string) => process.stderr.write(line + '\n'))
  print(`\nFerry created organisation "default". Its admin API key (shown once, also saved to ${file}):\n\n  ${generated}\n`)
  return { created: true }
}

async function writeAdminKeyFile (dataDir: string, plaintext: string): Promise<string> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
  const file = path.join(dataDir, 'admin-api-key')
  // written afresh: a reset must not leave the old key's file mode or content behind
  await fs.rm(file, { force: true })
  await fs.writeFile(file, plaintext + '\n', { mode: 0o600 })
  return file
}

/**
 * `ferry admin-key reset`, run where the database is reachable: replaces the instance-admin key
 * (revoked, lost, or leaked) with a new one in the same organisation — "default", or the oldest
 * organisation if the old key is gone. Printed once and written to $FERRY_DATA_DIR/admin-api-key
 * like the bootstrap key; recorded in that organisation's audit log with the CLI as the actor.
 */
export async function resetInstanceAdminKey (
  db: Db, options: { dataDir: string, print: (line: string) => void },
): Promise<{ orgId: string, keyId: string, replaced: number }> {
  const result = await db.transaction(async (tx) => {
    await lockInstanceAdminKey(tx)
    const old = await deleteInstanceAdminKeys(tx)
    const orgId = old[0]?.orgId ?? (await findHomeOrg(tx))?.id ?? (await insertOrg(tx, { id: newId(), name: 'default' })).id
    const { record, plaintext } = await createApiKey(tx, orgId, { name: 'admin', isInstanceAdmin: true })
    const actor = { orgId, apiKeyId: null, name: 'ferry admin-key reset', role: 'admin' as const }
    for (const key of old) await recordAudit(tx, actor, { action: 'revoke', resourceType: 'api_key', resourceId: key.id })
    await recordAudit(tx, actor, { action: 'create', resourceType: 'api_key', resourceId: record.id })
    return { orgId, keyId: record.id, replaced: old.length, plaintext }
  })
  const file = await writeAdminKeyFile(options.dataDir, result.plaintext)
  options.print(`The new instance-admin API key (shown once, also saved to ${file}):\n\n  ${result.plaintext}\n`)
  options.print(result.replaced > 0
    ? 'The previous instance-admin key no longer works. Other processes accept it for at most FERRY_API_KEY_CACHE_SECONDS.'
    : 'There was no instance-admin key; this one is new.')
  return { orgId: result.orgId, keyId: result.keyId, replaced: result.replaced }
}
