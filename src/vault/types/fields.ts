import { AppError } from '../../errors.js'

/** Checks shared by the secret types' parse functions. Messages name fields, never echo values. */

const MAX_VALUE_CHARS = 8192

/** printable ASCII without spaces: access keys, secret keys, session tokens */
export const NO_SPACE_PRINTABLE = /^[\x21-\x7e]+$/

export const invalid = (field: string, problem: string): AppError =>
  new AppError('VALIDATION_FAILED', `${field} ${problem}.`, { details: { field } })

export function checkString (field: string, v: unknown, opts: { min?: number, max?: number, pattern?: RegExp, what?: string }): string {
  if (typeof v !== 'string' || v === '') throw invalid(field, 'must be a non-empty string')
  if (v.trim() !== v) throw invalid(field, 'has leading or trailing whitespace (a copy-and-paste slip?)')
  if (opts.min !== undefined && v.length < opts.min) throw invalid(field, `must be at least ${opts.min} characters`)
  if (v.length > (opts.max ?? MAX_VALUE_CHARS)) throw invalid(field, `must be at most ${opts.max ?? MAX_VALUE_CHARS} characters`)
  if (opts.pattern && !opts.pattern.test(v)) throw invalid(field, `must be ${opts.what ?? 'printable characters'}`)
  return v
}
