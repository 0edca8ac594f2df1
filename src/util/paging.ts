import { AppError } from '../errors.js'

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
