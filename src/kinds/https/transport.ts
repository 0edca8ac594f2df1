import { createHash, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { request, type Dispatcher } from 'undici'
import type { RemoteFile } from '../../connectors/remote-file.js'
import type { Transport } from '../../connectors/transport.js'
import { AppError, isAppError } from '../../errors.js'
import type { AddressPolicy } from '../../net/address-policy.js'
import { assertTargetUrl, guardedDispatcherFor, mapNetworkError } from '../../net/guarded-http.js'

/**
 * The HTTPS file transport: one file at a URL (an INVENTORY_SOURCE polled on the schedule),
 * fetched through Ferry's guarded HTTP client (src/net/guarded-http.ts): every connection is
 * resolved and checked against the address policy, and redirects are never followed.
 *
 * How one URL fits list/open, and why (exactly once with the ledger `(sourceId, key, etag)`):
 * - `list` does the one conditional GET and spools the body to a private temp file under the
 *   data directory (`tempDir`, i.e. processTempDir(FERRY_DATA_DIR)), hashing it on the way. It
 *   yields one RemoteFile `{ key: url, etag, size, lastModified }`; `open` and `head` read the spool.
 *   The etag is therefore the identity of exactly the bytes that are ingested. A HEAD-then-GET
 *   design cannot promise that: a file replaced between the two requests would be ingested
 *   under the old validator, and ingested a second time by the next pull under the new one.
 * - The etag is the response's `ETag`; without one it is `sha256:<hex>` of the body, so an
 *   unchanged body gives the same ledger row and is not ingested again (and a changed one is).
 * - `previous` is the validator of the newest ledger row for this URL. `If-None-Match` is sent
 *   when it is a server ETag, `If-Modified-Since` when the server gave a Last-Modified. A 304, or
 *   a 200 whose ETag equals the previous one (a server that ignores conditions), lists nothing
 *   and downloads nothing more. The Test and the preview pass no `previous`: they always see the file.
 * - The spool lives until `close()` (the kind's withTransport calls it in `finally`) or the next
 *   `list`; files of a killed process are swept at the next start (src/inbound/spool.ts).
 *
 * Limits: a body larger than `maxBytes` fails the listing with FILE_TOO_LARGE (it is not
 * ledgered: without an ETag there is no identity to ledger it under, so every pull reports it
 * until the file shrinks or the limit is raised). `timeoutMs` bounds the wait for the response
 * headers and every pause of the body; a slow but steady download is not cut off.
 *
 * Errors: HTTPS_REDIRECT (3xx, the Location named), HTTPS_AUTH_FAILED (401/403), HTTPS_NOT_FOUND
 * (404/410), HTTPS_REJECTED (other 4xx, unexpected 2xx), HTTPS_ERROR (408/429/5xx, transient),
 * and the guard's TARGET_NOT_ALLOWED / TARGET_UNREACHABLE / TARGET_TIMEOUT. Messages show the URL
 * without its query (a token may sit there) and never the header secret's value.
 */

export interface HttpsHeader {
  /** the `http_header` secret: the name is shown in messages, the value never */
  name: string
  value: string
}

export interface HttpsValidator {
  /** a ledgered etag: the server's ETag, or `sha256:<hex>` of a body that came without one */
  etag: string
  /** the Last-Modified of that response, when the server sent one */
  lastModified: Date | null
}

export interface HttpsTransportOptions {
  url: string
  header?: HttpsHeader
  /** the newest ledgered validator of this URL (pulls only) */
  previous?: HttpsValidator
  policy: AddressPolicy
  /** the wait for the response headers, and the longest pause of the body (ms) */
  timeoutMs: number
  /** the largest body accepted (FERRY_MAX_FILE_BYTES) */
  maxBytes: number
  /** where bodies are spooled: processTempDir(FERRY_DATA_DIR) */
  tempDir: string
  /** default: the policy's shared guarded dispatcher */
  dispatcher?: Dispatcher
}

/** The prefix of an etag Ferry derived from the body (a server ETag is quoted, so they cannot collide). */
export const BODY_HASH_PREFIX = 'sha256:'
const MAX_LOCATION_CHARS = 500

interface Spool { file: RemoteFile, path: string }

export class HttpsTransport implements Transport {
  readonly #url: URL
  readonly #options: HttpsTransportOptions
  readonly #dispatcher: Dispatcher
  #spool: Spool | null = null

  /** Throws TARGET_NOT_ALLOWED at once for a URL that is not http(s), carries user-info or has a refused IP-literal host. */
  constructor (options: HttpsTransportOptions) {
    this.#url = assertTargetUrl(options.url, options.policy)
    this.#options = options
    this.#dispatcher = options.dispatcher ?? guardedDispatcherFor(options.policy)
  }

  /** The URL as messages show it: no query or fragment. */
  get shown (): string {
    return `${this.#url.origin}${this.#url.pathname}`
  }

  /** HEAD the URL; a server that does not do HEAD (405/501) is asked for its first byte instead. */
  async ping (): Promise<void> {
    let res = await this.#send('HEAD', {})
    discard(res.body)
    if (res.statusCode === 405 || res.statusCode === 501) {
      res = await this.#send('GET', { range: 'bytes=0-0' })
      discard(res.body)
      // 416: the range is past the end of an empty file, which exists all the same
      if (res.statusCode === 416) return
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return
    throw this.#statusError(res)
  }

  /** The conditional GET: yields the file once when it is new or changed, nothing when it is not. */
  async * list (signal?: AbortSignal): AsyncGenerator<RemoteFile[]> {
    await this.close()
    const previous = this.#options.previous
    const conditions: Record<string, string> = {}
    if (previous !== undefined && !previous.etag.startsWith(BODY_HASH_PREFIX)) conditions['if-none-match'] = previous.etag
    if (previous?.lastModified) conditions['if-modified-since'] = previous.lastModified.toUTCString()
    const res = await this.#send('GET', conditions, signal)
    const etag = header(res.headers, 'etag')
    if (res.statusCode === 304 || (res.statusCode === 200 && etag !== undefined && etag === previous?.etag)) {
      discard(res.body)
      return
    }
    if (res.statusCode !== 200 && res.statusCode !== 203) {
      discard(res.body)
      throw this.#statusError(res)
    }
    const declared = Number(header(res.headers, 'content-length'))
    if (Number.isSafeInteger(declared) && declared > this.#options.maxBytes) {
      discard(res.body)
      throw this.#tooLarge()
    }
    const spooled = await this.#spoolBody(res.body)
    const lastModified = parseHttpDate(header(res.headers, 'last-modified'))
    const file: RemoteFile = { key: this.#options.url, etag: etag ?? `${BODY_HASH_PREFIX}${spooled.sha256}`, size: spooled.bytes, lastModified }
    this.#spool = { file, path: spooled.path }
    yield [file]
  }

  /** The body fetched by `list` (a file this transport did not list is a bug of the caller). */
  async open (file: RemoteFile): Promise<Readable> {
    return fs.createReadStream(this.#spooled(file))
  }

  async head (file: RemoteFile, bytes: number): Promise<Buffer> {
    const handle = await fs.promises.open(this.#spooled(file), 'r')
    try {
      const buffer = Buffer.alloc(Math.min(bytes, file.size))
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
      return buffer.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  }

  put (): Promise<{ etag: string | null }> {
    return Promise.reject(new AppError('INTERNAL', 'An HTTPS file source is read-only: it cannot be a results sink.'))
  }

  /** Deletes the spooled body. */
  async close (): Promise<void> {
    const spool = this.#spool
    this.#spool = null
    if (spool !== null) await fs.promises.rm(spool.path, { force: true })
  }

  #spooled (file: RemoteFile): string {
    const spool = this.#spool
    if (spool === null || spool.file.key !== file.key || spool.file.etag !== file.etag) {
      throw new AppError('INTERNAL', 'The HTTPS transport can only open the file its last listing fetched.')
    }
    return spool.path
  }

  async #send (method: 'GET' | 'HEAD', headers: Record<string, string>, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    const { header: secret, timeoutMs } = this.#options
    try {
      return await request(this.#url, {
        dispatcher: this.#dispatcher,
        method,
        headers: { 'user-agent': 'Ferry', ...headers, ...(secret !== undefined ? { [secret.name]: secret.value } : {}) },
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
    } catch (err) {
      throw mapNetworkError(err, { host: this.#url.host, timeoutMs })
    }
  }

  async #spoolBody (body: Readable): Promise<{ path: string, bytes: number, sha256: string }> {
    const { tempDir, maxBytes, timeoutMs } = this.#options
    await fs.promises.mkdir(tempDir, { recursive: true, mode: 0o700 })
    const file = path.join(tempDir, `ferry-https-${randomUUID()}`)
    const hash = createHash('sha256')
    let bytes = 0
    const count = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        bytes += chunk.length
        if (bytes > maxBytes) {
          callback(this.#tooLarge())
          return
        }
        hash.update(chunk)
        callback(null, chunk)
      },
    })
    try {
      await pipeline(body, count, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }))
    } catch (err) {
      await fs.promises.rm(file, { force: true })
      throw isAppError(err) ? err : mapNetworkError(err, { host: this.#url.host, timeoutMs })
    }
    return { path: file, bytes, sha256: hash.digest('hex') }
  }

  #tooLarge (): AppError {
    return new AppError('FILE_TOO_LARGE', `The file at ${this.shown} is larger than the limit of ${this.#options.maxBytes} bytes (FERRY_MAX_FILE_BYTES).`, {
      details: { url: this.shown, limitBytes: this.#options.maxBytes },
    })
  }

  #statusError (res: Dispatcher.ResponseData): AppError {
    const status = res.statusCode
    const url = this.shown
    const details = { url, httpStatus: status }
    if (status >= 300 && status < 400) {
      const location = this.#location(header(res.headers, 'location'))
      return new AppError('HTTPS_REDIRECT', location !== undefined
        ? `${url} redirects (HTTP ${status}) to ${location}. Ferry does not follow redirects: if you trust that address, set it as the URL.`
        : `${url} answered with a redirect (HTTP ${status}) without a Location. Ferry does not follow redirects.`, {
        details: { ...details, ...(location !== undefined ? { location } : {}) },
      })
    }
    if (status === 401 || status === 403) {
      const secret = this.#options.header
      return new AppError('HTTPS_AUTH_FAILED', secret !== undefined
        ? `${url} refused the request (HTTP ${status}) with the "${secret.name}" header of the header secret. Check the secret's value.`
        : `${url} refused the request (HTTP ${status}): it needs credentials. Add an http_header secret (e.g. Authorization: Bearer …).`, { details })
    }
    if (status === 404 || status === 410) {
      return new AppError('HTTPS_NOT_FOUND', `${url} answered ${status} ${status === 404 ? 'Not Found' : 'Gone'}: check the URL.`, { details })
    }
    if (status === 408 || status === 429 || status >= 500) {
      return new AppError('HTTPS_ERROR', `${url} answered HTTP ${status}. This is usually temporary; the next pull tries again.`, { details })
    }
    return new AppError('HTTPS_REJECTED', `${url} answered HTTP ${status}, not a file.`, { details })
  }

  /** A Location as shown: absolute, without user-info, cut to a readable length. */
  #location (value: string | undefined): string | undefined {
    if (value === undefined || value === '') return undefined
    try {
      const target = new URL(value, this.#url)
      target.username = ''
      target.password = ''
      return target.href.slice(0, MAX_LOCATION_CHARS)
    } catch {
      return undefined
    }
  }
}

/** Drops a body Ferry does not read (undici reports the abort of an unread body as an error: it is expected here). */
function discard (body: Readable): void {
  body.on('error', () => {})
  body.destroy()
}

function header (headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

function parseHttpDate (value: string | undefined): Date | null {
  if (value === undefined) return null
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? null : new Date(ms)
}
