import type { FastifyInstance, FastifyRequest } from 'fastify'
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
export function installAuth (app: FastifyInstance, db: Db): void {
  app.decorateRequest('auth', null as unknown as AuthContext)
  // last_used_at has minute resolution (touchApiKey writes at most once a minute), so a key this
  // process touched less than a minute ago skips the round trip (bench/findings.md, API benchmark)
  const touched = new Map<string, number>()
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config?.public) return
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
    if (!match) throw new AppError('UNAUTHORIZED')
    const key = await findApiKeyByHash(db, hashApiKey(match[1]))
    if (!key) throw new AppError('UNAUTHORIZED', 'The API key is not valid.')
    request.auth = { orgId: key.orgId, keyId: key.id, isInstanceAdmin: key.isInstanceAdmin }
    const now = Date.now()
    if ((touched.get(key.id) ?? 0) <= now - 60_000) {
      if (touched.size > 10_000) touched.clear()
      touched.set(key.id, now)
      await touchApiKey(db, key.id)
    }
  })
}

export function requireInstanceAdmin (request: FastifyRequest): void {
  if (!request.auth.isInstanceAdmin) throw new AppError('FORBIDDEN', 'Only the instance-admin key may create organisations.')
}
