import type { Deps } from '../deps.js'
import { deleteApiKey, findApiKeyByHash, listApiKeys, type ApiKeyRecord } from '../db/sql/api-keys.js'
import { getOrg, type Organisation } from '../db/sql/orgs.js'
import { recordAudit, type Actor } from '../audit/audit.js'
import { AppError } from '../errors.js'
import { createApiKey, createOrgWithAdminKey, hashApiKey, keyExpired } from './api-keys.js'
import type { Role } from './roles.js'

export type { ApiKeyRecord }

/** The organisation's API keys; `callerKeyId` is the key asking (it is listed like the others). */
export async function listApiKeysOf (deps: Pick<Deps, 'db'>, orgId: string, callerKeyId: string): Promise<ApiKeyRecord[]> {
  return listApiKeys(deps.db, orgId, callerKeyId)
}

/** A new key of the organisation: its record and its plaintext, which exists only in this answer. */
export async function issueApiKey (
  deps: Pick<Deps, 'db'>, orgId: string, input: { name: string, role?: Role, expiresAt: Date | null }, actor: Actor,
): Promise<{ record: ApiKeyRecord, plaintext: string }> {
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future.', { details: { field: 'expiresAt' } })
  }
  return deps.db.transaction(async (tx) => {
    const created = await createApiKey(tx, orgId, input)
    await recordAudit(tx, actor, { action: 'create', resourceType: 'api_key', resourceId: created.record.id })
    return created
  })
}

/** Revokes a key of the organisation other than the caller's own. */
export async function revokeApiKey (deps: Pick<Deps, 'db'>, orgId: string, keyId: string, actor: Actor): Promise<void> {
  if (keyId === actor.apiKeyId) throw new AppError('CONFLICT', 'An API key cannot revoke itself; use another key.')
  await deps.db.transaction(async (tx) => {
    if (!await deleteApiKey(tx, orgId, keyId)) throw new AppError('NOT_FOUND', 'API key not found.')
    await recordAudit(tx, actor, { action: 'revoke', resourceType: 'api_key', resourceId: keyId })
  })
}

export async function getOrganisation (deps: Pick<Deps, 'db'>, orgId: string): Promise<Organisation | null> {
  return getOrg(deps.db, orgId)
}

/** A new organisation with its first (admin) key; recorded in the acting instance admin's own log. */
export async function createOrganisation (deps: Pick<Deps, 'db'>, name: string, actor: Actor): Promise<{ org: Organisation, apiKey: string }> {
  return deps.db.transaction(async (tx) => {
    const created = await createOrgWithAdminKey(tx, name)
    await recordAudit(tx, actor, { action: 'create', resourceType: 'organisation', resourceId: created.org.id })
    return created
  })
}

/** The organisation of a valid, unexpired API key; any other key → UNAUTHORIZED. */
export async function orgOfApiKey (deps: Pick<Deps, 'db'>, plaintext: string): Promise<string> {
  const key = await findApiKeyByHash(deps.db, hashApiKey(plaintext))
  if (!key || keyExpired(key)) throw new AppError('UNAUTHORIZED', 'The API key is not valid.')
  return key.orgId
}
