import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ApiKeyCache } from '../auth/api-key-cache.js'
import { hashApiKey, keyExpired } from '../auth/api-keys.js'
import { accessOf, roleAtLeast, type Access, type Role } from '../auth/roles.js'
import type { Actor } from '../audit/audit.js'
import type { Db } from '../db/client.js'
import { findApiKeyByHash, touchApiKey, type ApiKeyRecord } from '../db/sql/api-keys.js'
import { AppError } from '../errors.js'

export interface AuthContext {
  orgId: string
  keyId: string
  keyName: string
  role: Role
  isInstanceAdmin: boolean
  expiresAt: string | null
}

declare module 'fastify' {
  interface FastifyRequest { auth: AuthContext }
}

/**
 * Bearer API keys and roles on every route of this scope. What a route needs comes from the one
 * table in src/auth/roles.ts: `public` routes authenticate themselves, every other route needs a
 * valid, unexpired key of at least the listed role, and a route missing from the table is refused.
 */
export function installAuth (app: FastifyInstance, db: Db, cache: ApiKeyCache): void {
  app.decorateRequest('auth', null as unknown as AuthContext)
  app.addHook('onRequest', async (request: FastifyRequest) => {
    // no route matched: the not-found answer follows, there is nothing to guard
    if (request.routeOptions.url === undefined) return
    const access = accessOf(request.method, request.routeOptions.url)
    if (access === 'public') return
    const key = await authenticate(request, db, cache)
    request.auth = { orgId: key.orgId, keyId: key.id, keyName: key.name, role: key.role, isInstanceAdmin: key.isInstanceAdmin, expiresAt: key.expiresAt }
    authorise(request.auth, access)
  })
}

async function authenticate (request: FastifyRequest, db: Db, cache: ApiKeyCache): Promise<ApiKeyRecord> {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  if (!match) throw new AppError('UNAUTHORIZED')
  const hash = hashApiKey(match[1])
  let key = cache.get(hash)
  if (!key) {
    const found = await findApiKeyByHash(db, hash)
    if (!found) throw new AppError('UNAUTHORIZED', 'The API key is not valid.')
    key = found
    if (cache.verified(hash, key)) await touchApiKey(db, key.id)
  }
  // checked on every request, cached or not: the cache never keeps an expired key alive
  if (keyExpired(key)) throw new AppError('UNAUTHORIZED', 'The API key has expired.')
  return key
}

function authorise (auth: AuthContext, access: Exclude<Access, 'public'> | undefined): void {
  if (access === undefined) throw new AppError('FORBIDDEN_ROLE', 'This route is not open to any API key.')
  if (access === 'instance') {
    if (!auth.isInstanceAdmin) throw new AppError('FORBIDDEN', 'Only the instance-admin key may create organisations.')
    return
  }
  if (!roleAtLeast(auth.role, access)) {
    throw new AppError('FORBIDDEN_ROLE', `This API key's role (${auth.role}) may not do this; it needs the ${access} role.`,
      { details: { role: auth.role, required: access } })
  }
}

/** The request's key as the audit log records it. */
export const actorOf = (request: FastifyRequest): Actor =>
  ({ orgId: request.auth.orgId, apiKeyId: request.auth.keyId, name: request.auth.keyName, role: request.auth.role })
