import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Db, Queryable } from '../db/client.js'
import { countApiKeys, insertApiKey, type ApiKeyRecord } from '../db/sql/api-keys.js'
import { insertOrg, type Organisation } from '../db/sql/orgs.js'
import type { Logger } from '../log.js'
import { newId } from '../util/ids.js'

const KEY_PREFIX = 'fy_'

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex')

export const generateApiKey = (): string => KEY_PREFIX + randomBytes(32).toString('base64url')

/** Creates a key and returns its plaintext: the only time the plaintext exists outside the caller. */
export async function createApiKey (q: Queryable, orgId: string, options: { name: string, isInstanceAdmin?: boolean, plaintext?: string }): Promise<{ record: ApiKeyRecord, plaintext: string }> {
  const plaintext = options.plaintext ?? generateApiKey()
  const record = await insertApiKey(q, {
    id: newId(),
    orgId,
    name: options.name,
    hash: hashApiKey(plaintext),
    hint: plaintext.slice(-4),
    isInstanceAdmin: options.isInstanceAdmin ?? false,
  })
  return { record, plaintext }
}

export async function createOrgWithAdminKey (q: Queryable, name: string, options: { isInstanceAdmin?: boolean, plaintext?: string } = {}): Promise<{ org: Organisation, apiKey: string, key: ApiKeyRecord }> {
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
export async function bootstrapAdminKey (db: Db, options: { bootstrapApiKey?: string, dataDir: string, logger: Logger, print?: (line: string) => void }): Promise<{ created: boolean }> {
  const generated = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [7_246_002])
    if (await countApiKeys(tx) > 0) return null
    const { apiKey } = await createOrgWithAdminKey(tx, 'default', { isInstanceAdmin: true, plaintext: options.bootstrapApiKey })
    return options.bootstrapApiKey ? '' : apiKey
  })
  if (generated === null) return { created: false }
  if (generated === '') {
    options.logger.info('created organisation "default" with the key from FERRY_BOOTSTRAP_API_KEY')
    return { created: true }
  }
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const file = path.join(options.dataDir, 'admin-api-key')
  await fs.writeFile(file, generated + '\n', { mode: 0o600 })
  // Printed to the terminal once, on purpose and outside the logger: logs are shipped elsewhere.
  const print = options.print ?? ((line: string) => process.stderr.write(line + '\n'))
  print(`\nFerry created organisation "default". Its admin API key (shown once, also saved to ${file}):\n\n  ${generated}\n`)
  return { created: true }
}
