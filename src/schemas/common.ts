import { AppError } from '../errors.js'
import { Type, type Static, type TSchema } from 'typebox'

export const ErrorResponse = Type.Object({
  code: Type.String({ description: 'stable error code, e.g. NOT_FOUND' }),
  message: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
}, { $id: 'ErrorResponse', description: 'Every error has this shape; 5xx bodies never carry internals.' })

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

/** The error responses every authenticated route can give (403: the key's role, src/auth/roles.ts), merged into each route's `response`. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries([401, 403, 500, ...statuses].map(s => [s, Type.Ref('ErrorResponse')]))

/** Opaque keyset cursor: base64url of the last row's (time-ordered) id. */
export const encodeCursor = (lastId: string): string => Buffer.from(lastId).toString('base64url')

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function decodeCursor (cursor: string | undefined): string | undefined {
  if (!cursor) return undefined
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  if (!UUID_RE.test(id)) {
    throw new AppError('VALIDATION_FAILED', 'The cursor is not valid; use the nextCursor of a previous page.', { details: { field: 'cursor' } })
  }
  return id
}

/** `{ items, nextCursor }` for a page fetched with `limit`: a full page may have a next one. */
export const page = <T extends { id: string }, U>(rows: T[], limit: number, present: (row: T) => U) =>
  ({ items: rows.map(present), nextCursor: rows.length === limit ? encodeCursor(rows[rows.length - 1].id) : null })
