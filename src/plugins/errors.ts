import type { FastifyError, FastifyInstance } from 'fastify'
import { AppError, isAppError } from '../errors.js'

/** Fastify's own 4xx codes, mapped onto the catalogue so every error body has one shape. */
const FASTIFY_CODES: Record<string, AppError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
}

/**
 * What @fastify/busboy (the parser under @fastify/multipart) throws for a malformed body: plain Errors
 * without a code or a status, so they are known by their messages — every one @fastify/busboy 3 raises
 * about a body. The body is the client's: 400, never a 500.
 */
const MALFORMED_MULTIPART = new Set([
  'Multipart: Boundary not found',
  'Boundary required',
  'Unexpected end of multipart data',
  'Part terminated early due to unexpected end of multipart data',
  'Preamble terminated early due to unexpected end of multipart data',
  'Unsupported Content-Type.',
  'Missing Content-Type-header.',
])

export function installErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | AppError, request, reply) => {
    if (isAppError(err)) {
      // throttling and overload answers say when to come back (RFC 9110 Retry-After)
      const retryAfter = err.details?.retryAfterSeconds
      if (typeof retryAfter === 'number' && (err.statusCode === 429 || err.statusCode === 503)) reply.header('retry-after', String(retryAfter))
      if (err.statusCode >= 500) request.log.error({ err }, 'request failed')
      else request.log.info({ code: err.code, message: err.message }, 'request refused')
      const status = err.statusCode
      if (status >= 500) return reply.status(status).send({ code: err.code, message: err.failureType === 'system' ? 'Internal server error.' : err.message })
      return reply.status(status).send({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) })
    }
    const fe = err as FastifyError
    if (fe.validation) {
      // A malformed id in the path is indistinguishable from an unknown one: 404, never a hint.
      if (fe.validationContext === 'params') return reply.status(404).send({ code: 'NOT_FOUND', message: 'Not found.' })
      return reply.status(400).send({
        code: 'VALIDATION_FAILED',
        message: `${fe.validationContext ?? 'request'}${fe.validation[0]?.instancePath ?? ''} ${fe.validation[0]?.message ?? 'is not valid'}`,
        details: { errors: fe.validation.map(v => ({ path: `${fe.validationContext}${v.instancePath}`, message: v.message, params: v.params })) },
      })
    }
    if (fe.statusCode === undefined && MALFORMED_MULTIPART.has(fe.message)) {
      request.log.info({ message: fe.message }, 'malformed multipart body refused')
      return reply.status(400).send({ code: 'VALIDATION_FAILED', message: `The multipart body is malformed: ${fe.message}` })
    }
    const status = fe.statusCode ?? 500
    if (status === 429) return reply.status(429).send({ code: 'RATE_LIMITED', message: 'Too many requests; retry later.' })
    if (status >= 400 && status < 500) {
      const byStatus = status === 413
        ? 'PAYLOAD_TOO_LARGE'
        : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 404 ? 'NOT_FOUND' : 'VALIDATION_FAILED'
      const code = (fe.code && FASTIFY_CODES[fe.code]) || byStatus
      return reply.status(status).send({ code, message: fe.message })
    }
    request.log.error({ err }, 'unhandled error')
    return reply.status(500).send({ code: 'INTERNAL', message: 'Internal server error.' })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ code: 'NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0]}.` })
  })
}
