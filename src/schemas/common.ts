import { KIND_TYPES } from '../kinds/configs.js'
import { Type, type Static, type TSchema, type TSchemaOptions } from 'typebox'

export const ErrorResponse = Type.Object({
  code: Type.String({ description: 'stable error code, e.g. NOT_FOUND' }),
  message: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
}, { $id: 'ErrorResponse', description: 'Every error has this shape; 5xx bodies never carry internals.' })

/**
 * One of a list of strings (an anyOf of literals). Its static type is the list's element type: a
 * Type.Union over `.map(…)` has the static type never (TypeBox needs a tuple), and the web UI's
 * types are these schemas' static types (web/src/api/types.ts).
 */
export const Literals = <T extends string>(values: readonly T[], options?: TSchemaOptions) =>
  Type.Unsafe<T>(Type.Union(values.map(v => Type.Literal(v)), options))

export const Uuid = Type.String({ format: 'uuid' })
export const Timestamp = Type.String({ format: 'date-time' })

export const IdParams = Type.Object({ id: Uuid })
export type IdParams = Static<typeof IdParams>

export const Page = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
})

export const ListOf = <T extends TSchema>(item: T) => Type.Object({
  items: Type.Array(item),
  nextCursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
})

/**
 * The error answers, each a shared response of the OpenAPI document (src/openapi.ts) with this
 * name and description; the code in the body says which case it is (src/errors.ts).
 */
export const ERROR_RESPONSES = {
  400: { name: 'BadRequest', description: 'The request is not valid (VALIDATION_FAILED and others; details.field or details.errors name the input).' },
  401: { name: 'Unauthorized', description: 'No valid credentials (UNAUTHORIZED).' },
  403: { name: 'Forbidden', description: 'The API key\'s role may not do this (FORBIDDEN_ROLE, FORBIDDEN).' },
  404: { name: 'NotFound', description: 'Not found: an unknown id, or another organisation\'s (NOT_FOUND).' },
  408: { name: 'RequestTimeout', description: 'The request took too long to arrive (REQUEST_TIMEOUT).' },
  409: { name: 'Conflict', description: 'The request conflicts with the current state (the code says how).' },
  413: { name: 'PayloadTooLarge', description: 'The body is over the limit (PAYLOAD_TOO_LARGE).' },
  415: { name: 'UnsupportedMediaType', description: 'The content type is not supported (UNSUPPORTED_MEDIA_TYPE).' },
  422: { name: 'UnprocessableEntity', description: 'Understood but refused: a failed save-time check or an unreadable file (the code says which).' },
  429: { name: 'TooManyRequests', description: 'Too many requests (RATE_LIMITED); Retry-After says when to try again.' },
  500: { name: 'InternalError', description: 'Something failed on the server; the body carries no details (they are in its log).' },
} as const satisfies Record<number, { name: string, description: string }>

type ErrorStatus = keyof typeof ERROR_RESPONSES

/** The error responses every authenticated route can give (403: the key's role, src/auth/roles.ts), merged into each route's `response`. */
export const errorResponses = (...statuses: ErrorStatus[]) =>
  Object.fromEntries(([401, 403, 500, ...statuses] as const).map(s => [s, Type.Ref('ErrorResponse', { description: ERROR_RESPONSES[s].description })]))

/** The kinds of src/kinds/configs.ts; each kind's config schemas are its folder's (src/kinds/<type>/config.ts). */
export const SourceType = Literals(KIND_TYPES)
