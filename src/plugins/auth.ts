import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { ApiKeyCache } from '../auth/api-key-cache.js'
import { hashApiKey } from '../auth/api-keys.js'
import type { Db } from '../db/client.js'
import { findApiKeyByHash, touchApiKey } from '../db/sql/api-keys.js'
import { AppError } from '../errors.js'

export interface AuthContext { orgId: string, keyId: string, isInstanceAdmin: boolean }

declare module 'fastify' {
  interface FastifyRequest { auth: AuthContext }
  interface FastifyContextConfig {
    /** the route authenticates itself (inbound webhooks: the signature is the credential) */
    public?: boolean
  }
}

/** Bearer API keys on every route of this scope, except routes marked `config: { public: true }`. */
export function installAuth (app: FastifyInstance, db: Db, cache: ApiKeyCache): void {
  app.decorateRequest('auth', null as unknown as AuthContext)
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config?.public) return
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
    request.auth = { orgId: key.orgId, keyId: key.id, isInstanceAdmin: key.isInstanceAdmin }
  })
}

export function requireInstanceAdmin (request: FastifyRequest): void {
  if (!request.auth.isInstanceAdmin) throw new AppError('FORBIDDEN', 'Only the instance-admin key may create organisations.')
}
