import { Agent, buildConnector, request, type Dispatcher } from 'undici'
import type { Readable } from 'node:stream'
import { AppError, isAppError } from '../errors.js'
import { AddressPolicy } from './address-policy.js'
import { assertLiteralAllowed, createGuardedLookup, type Resolver } from './guarded-lookup.js'

/**
 * The one HTTP client for customer-supplied URLs (webhook sinks, channels, validation pings).
 *
 * - every new connection resolves the host through the guarded lookup and connects to the
 *   checked address (undici 7 passes `connect.lookup` through buildConnector to
 *   net/tls.connect; IP-literal hosts, which net.connect never looks up, are checked in the
 *   connector itself before any socket is opened);
 * - redirects are never followed (undici's `request` has no redirect handling unless the
 *   redirect interceptor is composed in; a 3xx is returned as a status);
 * - only http: and https: URLs;
 * - connect timeout, headers/body timeouts and a total deadline (AbortSignal);
 * - at most `maxResponseBytes` of the body are read (to count them), then the stream is destroyed;
 *   callers get the status, content type and length, never the body: with an on-prem allow-list a
 *   target could be any internal service, and its answer must not reach the tenant (docs/security.md).
 * undici does not read HTTP(S)_PROXY for an explicit Agent, so no environment proxy can
 * redirect this traffic either.
 */

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024

export interface GuardedDispatcherOptions {
  connectTimeoutMs?: number
  /** injectable resolver (tests); default: the system resolver (getaddrinfo) */
  resolver?: Resolver
}

/** An undici Agent whose every connection is resolved and checked against `policy`. */
export function createGuardedDispatcher (policy: AddressPolicy, options: GuardedDispatcherOptions = {}): Agent {
  const lookup = createGuardedLookup(policy, { resolver: options.resolver })
  const baseConnect = buildConnector({ timeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, lookup })
  const connect: buildConnector.connector = (connectOptions, callback) => {
    try {
      // net.connect skips `lookup` for canonical IP hosts: check those here
      assertLiteralAllowed(connectOptions.hostname, policy)
    } catch (err) {
      callback(err as Error, null)
      return
    }
    baseConnect(connectOptions, callback)
  }
  return new Agent({ connect })
}

const defaultDispatchers = new WeakMap<AddressPolicy, Agent>()

/** The shared guarded dispatcher for a policy (created on first use). */
export function guardedDispatcherFor (policy: AddressPolicy): Agent {
  let dispatcher = defaultDispatchers.get(policy)
  if (dispatcher === undefined) {
    dispatcher = createGuardedDispatcher(policy)
    defaultDispatchers.set(policy, dispatcher)
  }
  return dispatcher
}

/**
 * Parses a customer-supplied URL and applies the checks that need no network: scheme and
 * IP-literal host, no user-info. Throws TARGET_NOT_ALLOWED (details.reason `invalid_url` | `scheme` |
 * `credentials` | `address`).
 * Useful at save time; guardedRequest calls it too. Host names are checked when connecting.
 */
export function assertTargetUrl (target: string | URL, policy: AddressPolicy): URL {
  let url: URL
  try {
    url = typeof target === 'string' ? new URL(target) : new URL(target.href)
  } catch {
    throw new AppError('TARGET_NOT_ALLOWED', 'The target is not a valid URL.', { details: { reason: 'invalid_url' } })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('TARGET_NOT_ALLOWED', `Only http:// and https:// URLs are allowed, not ${url.protocol}//.`, {
      details: { reason: 'scheme', scheme: url.protocol.replace(/:$/, '') },
    })
  }
  if (url.username !== '' || url.password !== '') {
    // undici would silently drop them, and a URL is stored and shown in clear: credentials belong in a secret
    throw new AppError('TARGET_NOT_ALLOWED', 'URLs with a user name or password are not supported; put credentials in a header secret.', {
      details: { reason: 'credentials' },
    })
  }
  try {
    assertLiteralAllowed(url.hostname, policy)
  } catch (err) {
    if (isAppError(err)) throw withReason(err, 'address')
    throw err
  }
  return url
}

function withReason (err: AppError, reason: string): AppError {
  return new AppError(err.code, err.message, { details: { ...err.details, reason }, cause: err.cause })
}

export interface GuardedRequestOptions {
  policy: AddressPolicy
  method?: Dispatcher.HttpMethod
  headers?: Record<string, string>
  body?: string | Buffer | Uint8Array | Readable | null
  /** total deadline: connect + headers + reading the (capped) body. Default 15 s */
  timeoutMs?: number
  /** bytes of the response body read before the stream is destroyed. Default 64 KiB */
  maxResponseBytes?: number
  /** default: the shared guarded dispatcher of `policy`; pass one from createGuardedDispatcher to tune it */
  dispatcher?: Dispatcher
  /** caller's cancellation; an abort through it is reported as TARGET_TIMEOUT too */
  signal?: AbortSignal
}

export interface GuardedResponse {
  status: number
  headers: Record<string, string | string[]>
  /** the Content-Type header's media type (no parameters, at most 100 characters), or null */
  contentType: string | null
  /** the body's length: the Content-Length header when it is valid, else the bytes read when the body ended within the cap */
  contentLength: number | null
  /** bytes of the body read (at most maxResponseBytes) */
  bodyBytes: number
  /** true when the body was longer than maxResponseBytes and the rest was discarded */
  truncated: boolean
  durationMs: number
}

/**
 * One request to a customer-supplied URL through the guarded path. Resolves with the status
 * for ANY HTTP answer (including 3xx/4xx/5xx); rejects with AppError:
 *   TARGET_NOT_ALLOWED (bad URL/scheme, or the host is/resolves to a refused address),
 *   TARGET_UNREACHABLE (DNS failure, connection refused/reset, TLS failure),
 *   TARGET_TIMEOUT (connect, headers, body or total deadline).
 */
export async function guardedRequest (target: string | URL, options: GuardedRequestOptions): Promise<GuardedResponse> {
  const url = assertTargetUrl(target, options.policy)
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  const dispatcher = options.dispatcher ?? guardedDispatcherFor(options.policy)
  const host = url.host
  const started = performance.now()

  const deadline = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    deadline.abort(new Error(`deadline of ${timeoutMs} ms exceeded`))
  }, timeoutMs)
  const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal

  let body: Dispatcher.ResponseData['body'] | undefined
  try {
    const res = await request(url, {
      dispatcher,
      method: options.method ?? 'GET',
      headers: options.headers,
      body: options.body ?? undefined,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    })
    body = res.body
    const { received, truncated } = await countCapped(res.body, maxBytes)
    const declared = declaredLength(res.headers['content-length'])
    return {
      status: res.statusCode,
      headers: flattenHeaders(res.headers),
      contentType: mediaType(res.headers['content-type']),
      contentLength: declared ?? (truncated ? null : received),
      bodyBytes: received,
      truncated,
      durationMs: Math.round(performance.now() - started),
    }
  } catch (err) {
    throw mapNetworkError(err, { host, timeoutMs, timedOut: timedOut || (options.signal?.aborted ?? false) })
  } finally {
    clearTimeout(timer)
    if (body !== undefined && !body.destroyed) body.destroy()
  }
}

/** Counts the body's bytes, at most `maxBytes`; nothing of it is kept. */
async function countCapped (stream: AsyncIterable<Buffer>, maxBytes: number): Promise<{ received: number, truncated: boolean }> {
  let received = 0
  for await (const chunk of stream) {
    if (chunk.length > maxBytes - received) {
      // leaving the loop destroys the stream: the rest is never read
      return { received: maxBytes, truncated: true }
    }
    received += chunk.length
  }
  return { received, truncated: false }
}

function declaredLength (value: string | string[] | undefined): number | null {
  const raw = Array.isArray(value) ? value[0] : value
  return raw !== undefined && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : null
}

/** `text/html; charset=utf-8` → `text/html`; anything that is not a plain type/subtype token → null. */
function mediaType (value: string | string[] | undefined): string | null {
  const raw = (Array.isArray(value) ? value[0] : value)?.split(';')[0].trim().toLowerCase()
  return raw !== undefined && /^[a-z0-9!#$&^_.+-]{1,50}\/[a-z0-9!#$&^_.+-]{1,50}$/.test(raw) ? raw : null
}

function flattenHeaders (headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value
  return out
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ESOCKETTIMEDOUT'])
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL'])
const REFUSED_CODES = new Set(['ECONNREFUSED'])
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED', 'HPE_INVALID_CONSTANT'])
const ROUTE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EADDRNOTAVAIL'])

function errorCode (err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== 'object' || depth > 4) return undefined
  const e = err as { code?: unknown, errors?: unknown, cause?: unknown }
  if (typeof e.code === 'string' && e.code !== '') return e.code
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCode(e.errors[0], depth + 1) // AggregateError (happy eyeballs)
  return errorCode(e.cause, depth + 1)
}

function isTlsCode (code: string): boolean {
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.includes('CERT') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || code === 'EPROTO'
}

/**
 * Maps anything a connection attempt may throw to AppError. Messages are generic on purpose:
 * no internal error strings or response content reach the tenant; the original error stays in
 * `cause` for the logs. details.reason: not_allowed | timeout | dns | refused | reset | no_route | tls | network.
 */
export function mapNetworkError (err: unknown, context: { host: string, timeoutMs?: number, timedOut?: boolean }): AppError {
  if (isAppError(err)) return err
  const { host } = context
  const code = errorCode(err)
  const within = context.timeoutMs !== undefined ? ` within ${context.timeoutMs} ms` : ' in time'
  if (context.timedOut === true || (code !== undefined && TIMEOUT_CODES.has(code))) {
    const message = code === 'UND_ERR_CONNECT_TIMEOUT'
      ? `Could not connect to ${host}${within}.`
      : `${host} did not answer${within}.`
    return new AppError('TARGET_TIMEOUT', message, { details: { host, reason: 'timeout' }, cause: err })
  }
  const unreachable = (reason: string, message: string): AppError =>
    new AppError('TARGET_UNREACHABLE', message, { details: { host, reason }, cause: err })
  if (code !== undefined) {
    if (DNS_CODES.has(code)) return unreachable('dns', `The host name of ${host} could not be resolved.`)
    if (REFUSED_CODES.has(code)) return unreachable('refused', `${host} refused the connection.`)
    if (RESET_CODES.has(code)) return unreachable('reset', `${host} closed the connection unexpectedly.`)
    if (ROUTE_CODES.has(code)) return unreachable('no_route', `There is no network route to ${host}.`)
    if (isTlsCode(code)) return unreachable('tls', `The TLS handshake with ${host} failed (certificate not trusted or not valid for this host).`)
  }
  return unreachable('network', `${host} could not be reached.`)
}
