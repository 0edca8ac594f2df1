import type { FastifyInstance } from 'fastify'
import { AppError } from '../errors.js'
import { findTextFlaw } from '../util/text.js'

/**
 * Every route's params, query string and JSON body are refused (400) if a string or a key in them holds
 * text PostgreSQL cannot store — a NUL or a lone surrogate (src/util/text.ts) — instead of failing in
 * the database with a 500. One hook for the whole app, so a new route is covered without doing anything.
 *
 * It runs as a preHandler, after schema validation: unknown fields are refused by the schemas first, so
 * the top-level field it names is one the API defines; it never echoes a value or a key. Bodies that are not parsed JSON (the inbound webhook's stream, a
 * multipart upload) are not looked into here; the inventory pipeline checks file contents row by row.
 */
export function installTextInputCheck (app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    const parts: Array<[string, unknown]> = [['params', request.params], ['querystring', request.query], ['body', request.body]]
    for (const [part, value] of parts) {
      const at = findTextFlaw(value)
      if (at === undefined) continue
      // only the top-level field is named: keys further down may be names the client chose (a secret's
      // value is a map), and a validation error never echoes what might be a pasted credential
      const field = `${part}${at.path.split('/', 2).join('/')}`
      throw new AppError('VALIDATION_FAILED', `${field} holds ${at.flaw}${at.inKey ? ' in a key' : ''}, which cannot be stored.`, {
        details: { field },
      })
    }
  })
}
