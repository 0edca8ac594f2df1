// `.js` extensions: the server-side typecheck (node16 resolution) reads this module through the unit tests
import type { ErrorBody } from './types.js'
import { getApiKey } from '../lib/session.js'

/** An API answer other than 2xx, or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details?: Record<string, unknown>

  constructor (status: number, body: Partial<ErrorBody>) {
    super(body.message ?? `Request failed (${status}).`)
    this.name = 'ApiError'
    this.status = status
    this.code = body.code ?? (status === 0 ? 'NETWORK' : 'UNKNOWN')
    this.details = body.details
  }

  /** A route the server does not have (yet): the API part this view needs has not shipped. */
  get routeMissing (): boolean {
    return this.status === 404 && this.message.startsWith('No route for')
  }

  /**
   * Field-level messages, keyed by field path ("name", "scheduleCron", "config.bucket"):
   * from `details.field` (domain validation) and from `details.errors[].path` (schema validation,
   * e.g. "body/config/bucket").
   */
  fieldErrors (): Record<string, string> {
    const out: Record<string, string> = {}
    const field = this.details?.field
    if (typeof field === 'string') out[normaliseField(field)] = this.message
    const errors = this.details?.errors
    if (Array.isArray(errors)) {
      for (const e of errors as Array<{ path?: string, message?: string, params?: Record<string, unknown> }>) {
        if (typeof e?.path !== 'string') continue
        let key = normaliseField(e.path)
        // "body must have required property 'bucket'" names the field in params
        const missing = e.params?.missingProperty
        if (typeof missing === 'string') key = key ? `${key}.${missing}` : missing
        const additional = e.params?.additionalProperty
        if (typeof additional === 'string') key = key ? `${key}.${additional}` : additional
        if (key && !out[key]) out[key] = e.message ? capitalise(e.message) : this.message
      }
    }
    return out
  }
}

const normaliseField = (path: string) => path.replace(/^(body|querystring|params)\/?/, '').replace(/^\//, '').replace(/\//g, '.')
const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1)

type UnauthorizedListener = () => void
let onUnauthorized: UnauthorizedListener | null = null

/** Called when a stored key stops working (revoked): the app signs out. */
export function setUnauthorizedHandler (listener: UnauthorizedListener | null): void {
  onUnauthorized = listener
}

export interface RequestOptions {
  body?: unknown
  /** a key to use instead of the signed-in one (sign-in check) */
  key?: string
  signal?: AbortSignal
}

export async function request<T> (method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const key = options.key ?? getApiKey()
  const headers: Record<string, string> = { accept: 'application/json' }
  if (key) headers.authorization = `Bearer ${key}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
      credentials: 'omit',
      cache: 'no-store',
    })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiError(0, { code: 'NETWORK', message: 'The server could not be reached. Check your connection and try again.' })
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let body: unknown = null
  try { body = text ? JSON.parse(text) : null } catch { body = null }
  if (!response.ok) {
    const error = new ApiError(response.status, (body && typeof body === 'object') ? body as ErrorBody : {})
    if (response.status === 401 && !options.key) onUnauthorized?.()
    throw error
  }
  return body as T
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, { ...options, body: body ?? {} }),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PATCH', path, { ...options, body }),
  delete: <T = void>(path: string, options?: RequestOptions) => request<T>('DELETE', path, options),
}

/** Encodes one path segment (ids come from the API, but never trust a string into a URL). */
export const seg = (s: string) => encodeURIComponent(s)

/**
 * Splits an error for a form: messages for the fields it shows, and one form-level message for
 * everything else (an error about no field, or about a field the form does not have).
 */
export function formErrors (err: unknown, fields: readonly string[]): { fields: Record<string, string>, form: string | null } {
  if (!(err instanceof ApiError)) return { fields: {}, form: 'Something went wrong. Try again.' }
  const all = err.fieldErrors()
  const shown: Record<string, string> = {}
  const other: string[] = []
  for (const [key, message] of Object.entries(all)) {
    // "bucket" from a domain check and "config.bucket" from the schema name the same input
    const match = fields.includes(key) ? key : fields.find(f => f.endsWith(`.${key}`))
    if (match) shown[match] = message
    else other.push(`${key}: ${message}`)
  }
  const form = Object.keys(shown).length === 0
    ? (err.routeMissing ? 'The server does not support this yet (404).' : err.message)
    : other.length ? other.join(' ') : null
  return { fields: shown, form }
}
