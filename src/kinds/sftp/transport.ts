import net from 'node:net'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import { Client, type FileEntryWithStats, type SFTPWrapper, type Stats } from 'ssh2'
import type { Transport } from '../../connectors/transport.js'
import type { RemoteFile } from '../../connectors/remote-file.js'
import { AppError, isAppError } from '../../errors.js'
import type { AddressPolicy } from '../../net/address-policy.js'
import { resolveAllowed, type Resolver } from '../../net/guarded-lookup.js'
import { Semaphore } from '../../util/semaphore.js'
import { connectionLost, diagnoseSftpError, server, sftpError, sftpTimeout, type SftpContext } from './diagnostics.js'
import { fingerprintOf, keyTypeOf, normaliseHostKey } from './fingerprint.js'

/** Where the files are: the `sftp` kind's config as the transport needs it. */
export interface SftpConfig {
  host: string
  /** default 22 */
  port?: number
  /** the directory listed (absolute, or relative to the user's login directory) and written to */
  path: string
  /** glob on the key below `path`; only decides here whether the listing descends into subdirectories */
  pattern?: string
  /** the server's host key fingerprint, "SHA256:<base64>" (docs/sftp.md) */
  hostKey: string
}

/** The value of an `sftp` secret (src/kinds/sftp/secret.ts validates it). */
export interface SftpCredentials {
  username: string
  password?: string
  /** OpenSSH or PEM private key text */
  privateKey?: string
  passphrase?: string
}

export interface SftpTransportOptions {
  /** the private-network policy: the host is resolved and checked, and the socket connects to the checked address */
  policy: AddressPolicy
  /** tests only */
  resolver?: Resolver
  /** TCP connect to one address. Default 10 s */
  connectTimeoutMs?: number
  /** SSH handshake and authentication after the TCP connect (ssh2's readyTimeout). Default 20 s */
  readyTimeoutMs?: number
  /**
   * How long one SFTP request (a readdir, a read or write of one chunk, a rename) may wait for
   * the server's answer. A server that stops answering fails with SFTP_TIMEOUT (transient) after
   * this long instead of hanging the pull. Default 30 s
   */
  stallTimeoutMs?: number
}

/**
 * Connections one Ferry process keeps open to one server (host:port) at most; further connects
 * wait for a free slot. OpenSSH's default MaxStartups (10:30:100) starts refusing unauthenticated
 * connections at 10, and every connection is a process on the server: 4 keeps Ferry a polite
 * client while a few pulls and pushes of different sources to one server run side by side.
 */
export const MAX_CONNECTIONS_PER_SERVER = 4

/** Bytes asked for per SFTP read (ssh2 splits it to the server's limit, 32 KiB by default for OpenSSH < 8.7). */
const READ_CHUNK = 64 * 1024
/** Directory levels a recursive listing descends at most (a guard against pathological trees). */
const MAX_DEPTH = 32
/** Files per page of the listing (like S3's 1000 keys). */
const PAGE_SIZE = 1000

/** How long close() waits for the server to end the connection before dropping it. */
const CLOSE_GRACE_MS = 2000

const DEFAULTS = { connectTimeoutMs: 10_000, readyTimeoutMs: 20_000, stallTimeoutMs: 30_000 }

const serverSlots = new Map<string, Semaphore>()

function slotsFor (host: string, port: number): Semaphore {
  const id = `${host.toLowerCase()}:${port}`
  let slots = serverSlots.get(id)
  if (slots === undefined) {
    slots = new Semaphore(MAX_CONNECTIONS_PER_SERVER)
    serverSlots.set(id, slots)
  }
  return slots
}

/** The ledger etag of an SFTP file: its size and mtime (seconds) — SFTP v3 has no content hash. */
export const etagOf = (attrs: Pick<Stats, 'size' | 'mtime'>): string => `${attrs.size}:${attrs.mtime ?? 0}`

/** `path` as keys start with it: normalised, no trailing slash ("." for the login directory). */
export function basePath (path: string): string {
  const normal = posix.normalize(path.trim() === '' ? '.' : path.trim())
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal
}

/**
 * Keys are the files' full paths as the server names them (`{path}/{relative}`), the way an S3 key
 * includes its prefix: opening a key needs nothing else, and a sink's key is where it was written.
 */
export function keyFor (path: string, relative: string): string {
  const base = basePath(path)
  return base === '.' ? relative : base === '/' ? `/${relative}` : `${base}/${relative}`
}

/** The part of a key below `path`, what `pattern` matches (null when the key is not under `path`). */
export function relativeKey (path: string, key: string): string | null {
  const base = basePath(path)
  if (base === '.') return key.startsWith('/') ? null : key
  const prefix = base === '/' ? '/' : `${base}/`
  return key.startsWith(prefix) ? key.slice(prefix.length) : null
}

/** The listing descends into subdirectories when the pattern can match below the first level. */
export const isRecursive = (pattern: string | undefined): boolean => pattern !== undefined && (pattern.includes('/') || pattern.includes('**'))

interface Connection {
  client: Client
  sftp: SFTPWrapper
  closed: boolean
}

type Callback<T> = (err: Error | null | undefined, value?: T) => void

/**
 * The SFTP transport (ssh2, pure JS). One instance holds at most one SSH connection, opened on the
 * first call and reopened by a later call if it dropped; `close()` ends it (see withSftp).
 *
 * Every connection: resolve the host through the private-network guard, connect the TCP socket
 * to the checked address, verify the host key against the pinned fingerprint, authenticate,
 * open the SFTP subsystem. Nothing is sent with the credentials before the host key matched.
 */
export class SftpTransport implements Transport {
  readonly #credentials: SftpCredentials
  private readonly port: number
  private readonly base: string
  private readonly timeouts: typeof DEFAULTS
  private current?: Promise<Connection>

  constructor (private readonly config: SftpConfig, credentials: SftpCredentials, private readonly options: SftpTransportOptions) {
    this.#credentials = credentials
    this.port = config.port ?? 22
    this.base = basePath(config.path)
    this.timeouts = {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      readyTimeoutMs: options.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
      stallTimeoutMs: options.stallTimeoutMs ?? DEFAULTS.stallTimeoutMs,
    }
  }

  private ctx (extra: Partial<SftpContext> = {}): SftpContext {
    return { host: this.config.host, port: this.port, path: this.base, ...extra }
  }

  /** connect, verify the host key, authenticate, readdir(path): the save-time ping. */
  async ping (): Promise<void> {
    const conn = await this.connection()
    await this.readdir(conn, this.base)
  }

  /** Every regular file under `path` (recursive when the pattern says so), one directory's files per page. */
  async * list (signal?: AbortSignal): AsyncGenerator<RemoteFile[]> {
    const recursive = isRecursive(this.config.pattern)
    const queue: Array<{ dir: string, depth: number }> = [{ dir: this.base, depth: 0 }]
    while (queue.length > 0) {
      signal?.throwIfAborted()
      const { dir, depth } = queue.shift()!
      const conn = await this.connection()
      let entries: FileEntryWithStats[]
      try {
        entries = await this.readdir(conn, dir)
      } catch (err) {
        // a subdirectory the user may not read (lost+found, another account's folder) is left out
        // rather than failing every pull; `path` itself must be readable
        if (depth > 0 && isAppError(err) && err.code === 'SFTP_PERMISSION_DENIED') continue
        throw err
      }
      const files: RemoteFile[] = []
      for (const entry of entries.sort((a, b) => a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0)) {
        const key = dir === '.' ? entry.filename : dir === '/' ? `/${entry.filename}` : `${dir}/${entry.filename}`
        let attrs = entry.attrs
        if (attrs.isSymbolicLink()) {
          // a link to a file is listed as that file; links to directories are not followed (loops)
          attrs = await this.request<Stats>(conn, 'stat', this.ctx({ key }), cb => conn.sftp.stat(key, cb))
          if (!attrs.isFile()) continue
        }
        if (attrs.isDirectory()) {
          if (recursive && depth < MAX_DEPTH) queue.push({ dir: key, depth: depth + 1 })
          continue
        }
        if (!attrs.isFile()) continue
        files.push({ key, etag: etagOf(attrs), size: attrs.size, lastModified: typeof attrs.mtime === 'number' ? new Date(attrs.mtime * 1000) : null })
      }
      for (let i = 0; i < files.length; i += PAGE_SIZE) yield files.slice(i, i + PAGE_SIZE)
    }
  }

  /**
   * Streams one listed file. The open handle's size and mtime must still be the listed etag: a
   * file rewritten since the listing fails with SFTP_FILE_CHANGED and is taken, under its new
   * etag, by the next pull (the SFTP counterpart of S3's If-Match).
   */
  async open (file: RemoteFile, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted()
    const conn = await this.connection()
    const ctx = this.ctx({ key: file.key })
    const handle = await this.request<Buffer>(conn, 'open', ctx, cb => conn.sftp.open(file.key, 'r', cb))
    let attrs: Stats
    try {
      attrs = await this.request<Stats>(conn, 'read', ctx, cb => conn.sftp.fstat(handle, cb))
      if (file.etag !== '' && etagOf(attrs) !== file.etag) {
        throw sftpError('SFTP_FILE_CHANGED', 'changed', 'config.path',
          `"${file.key}" changed on ${server(ctx)} after it was listed (size:mtime ${file.etag} → ${etagOf(attrs)}); the next pull takes the new version.`,
          ctx, { listedEtag: file.etag, currentEtag: etagOf(attrs) })
      }
    } catch (err) {
      void this.closeHandle(conn, handle)
      throw err
    }
    const stream = new SftpReadStream(attrs.size,
      (buffer, position) => this.request<number>(conn, 'read', ctx, cb => conn.sftp.read(handle, buffer, 0, buffer.length, position, cb)),
      () => this.closeHandle(conn, handle),
      at => sftpError('SFTP_FILE_CHANGED', 'changed', 'config.path',
        `"${file.key}" on ${server(ctx)} was cut short while being read (${at} of ${attrs.size} bytes); the next pull takes the new version.`, ctx),
    )
    if (signal !== undefined) {
      const abort = (): void => { stream.destroy(signal.reason as Error) }
      signal.addEventListener('abort', abort, { once: true })
      stream.once('close', () => signal.removeEventListener('abort', abort))
    }
    return stream
  }

  /** The first `bytes` of a file (format sniffing). */
  async head (file: RemoteFile, bytes: number): Promise<Buffer> {
    const conn = await this.connection()
    const ctx = this.ctx({ key: file.key })
    const handle = await this.request<Buffer>(conn, 'open', ctx, cb => conn.sftp.open(file.key, 'r', cb))
    try {
      const buffer = Buffer.alloc(file.size > 0 ? Math.min(bytes, file.size) : bytes)
      let filled = 0
      while (filled < buffer.length) {
        const n = await this.request<number>(conn, 'read', ctx, cb => conn.sftp.read(handle, buffer, filled, buffer.length - filled, filled, cb))
        if (n === 0) break
        filled += n
      }
      return buffer.subarray(0, filled)
    } finally {
      void this.closeHandle(conn, handle)
    }
  }

  /**
   * Writes `key + ".partial"`, then renames it to `key`, so a reader of the directory never sees
   * half a file. The rename replaces an existing `key` atomically with OpenSSH's
   * posix-rename@openssh.com extension; a server without it refuses a plain SFTP rename onto an
   * existing file, so the old file is removed first there (a reader may then briefly find no file,
   * never a partial one). On failure the partial file is removed. The etag is the result's size:mtime.
   */
  async put (key: string, body: Readable, _contentType: string): Promise<{ etag: string | null }> {
    const conn = await this.connection()
    const partial = `${key}.partial`
    const ctx = this.ctx({ key: partial })
    const handle = await this.request<Buffer>(conn, 'write', ctx, cb => conn.sftp.open(partial, 'w', cb))
    try {
      let position = 0
      for await (const chunk of body) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk as Buffer
        await this.request(conn, 'write', ctx, cb => conn.sftp.write(handle, buffer, 0, buffer.length, position, cb))
        position += buffer.length
      }
      await this.request(conn, 'write', ctx, cb => conn.sftp.close(handle, cb))
    } catch (err) {
      await this.closeHandle(conn, handle)
      await this.request(conn, 'write', ctx, cb => conn.sftp.unlink(partial, cb)).catch(() => {})
      throw err
    }
    await this.rename(conn, partial, key)
    const attrs = await this.request<Stats>(conn, 'stat', this.ctx({ key }), cb => conn.sftp.stat(key, cb))
    return { etag: etagOf(attrs) }
  }

  /** Ends the connection (idempotent). */
  async close (): Promise<void> {
    const pending = this.current
    this.current = undefined
    if (pending === undefined) return
    const conn = await pending.catch(() => undefined)
    if (conn !== undefined && !conn.closed) {
      const closed = new Promise<void>(resolve => conn.client.once('close', () => resolve()))
      conn.client.end()
      // a server that does not acknowledge the goodbye is cut off rather than waited for
      const cutOff = setTimeout(() => conn.client.destroy(), CLOSE_GRACE_MS)
      await closed
      clearTimeout(cutOff)
    }
  }

  private async rename (conn: Connection, from: string, to: string): Promise<void> {
    const ctx = this.ctx({ key: to })
    try {
      await this.request(conn, 'rename', ctx, cb => conn.sftp.ext_openssh_rename(from, to, cb))
      return
    } catch (err) {
      if (!isAppError(err) || err.details?.reason !== 'unsupported_request') throw err
    }
    try {
      await this.request(conn, 'rename', ctx, cb => conn.sftp.rename(from, to, cb))
    } catch (err) {
      if (!isAppError(err) || err.code !== 'SFTP_ERROR') throw err
      await this.request(conn, 'rename', ctx, cb => conn.sftp.unlink(to, cb))
      await this.request(conn, 'rename', ctx, cb => conn.sftp.rename(from, to, cb))
    }
  }

  private async readdir (conn: Connection, dir: string): Promise<FileEntryWithStats[]> {
    const ctx = this.ctx({ path: dir })
    try {
      return await this.request<FileEntryWithStats[]>(conn, 'list', ctx, cb => conn.sftp.readdir(dir, cb))
    } catch (err) {
      // a readdir of a file answers "no such file" (OpenSSH) or a bare SSH_FX_FAILURE (others): say what it is
      if (!isAppError(err) || (err.details?.reason !== 'sftp_failure' && err.details?.reason !== 'path_not_found')) throw err
      const attrs = await this.request<Stats>(conn, 'list', ctx, cb => conn.sftp.stat(dir, cb)).catch(() => undefined)
      if (attrs === undefined || attrs.isDirectory()) throw err
      throw sftpError('SFTP_PATH_NOT_FOUND', 'not_a_directory', 'config.path',
        `"${dir}" on the SFTP server ${server(ctx)} is a file, not a directory. Set path to the directory that holds the files.`, ctx)
    }
  }

  private closeHandle (conn: Connection, handle: Buffer): Promise<void> {
    if (conn.closed) return Promise.resolve()
    // best effort: the server frees the handle with the connection anyway
    return this.request(conn, 'read', this.ctx(), cb => conn.sftp.close(handle, cb)).then(() => {}, () => {})
  }

  /**
   * One SFTP request with the stall timeout. A server that does not answer in time is given up:
   * the connection is ended (its other requests fail too) and the call fails with SFTP_TIMEOUT.
   */
  private request<T = void> (conn: Connection, operation: string, ctx: SftpContext, start: (cb: Callback<T>) => void): Promise<T> {
    const ms = this.timeouts.stallTimeoutMs
    return new Promise<T>((resolve, reject) => {
      if (conn.closed) {
        reject(connectionLost(ctx))
        return
      }
      const timer = setTimeout(() => {
        // destroy, not end: a polite end waits for a server that no longer answers
        conn.client.destroy()
        reject(sftpTimeout('stalled', `a request (${operation} "${ctx.key ?? ctx.path ?? ''}")`, ms, ctx))
      }, ms)
      try {
        start((err, value) => {
          clearTimeout(timer)
          if (err) reject(diagnoseSftpError(err, ctx, operation))
          else resolve(value as T)
        })
      } catch (err) {
        // ssh2 throws synchronously for a request the server did not announce (an SFTP extension)
        clearTimeout(timer)
        reject(sftpError('SFTP_ERROR', 'unsupported_request', 'config.host',
          `The SFTP server ${server(ctx)} does not support the request Ferry needs to ${operation}.`, ctx, {}, err))
      }
    })
  }

  /** The live connection, opened (again) when there is none. */
  private async connection (): Promise<Connection> {
    if (this.current !== undefined) {
      const conn = await this.current.catch(() => undefined)
      if (conn !== undefined && !conn.closed) return conn
    }
    this.current = this.connect()
    return await this.current
  }

  private async connect (): Promise<Connection> {
    const ctx = this.ctx()
    const release = await slotsFor(this.config.host, this.port).acquire()
    let socket: net.Socket
    try {
      socket = await this.openSocket(ctx)
    } catch (err) {
      release()
      throw err
    }
    const client = new Client()
    const conn = await new Promise<Connection>((resolve, reject) => {
      const expected = normaliseHostKey(this.config.hostKey)
      let presented: { fingerprint: string, keyType: string } | undefined
      let settled = false
      const fail = (err: unknown): void => {
        if (settled) return
        settled = true
        socket.destroy()
        if (presented !== undefined && presented.fingerprint !== expected) reject(this.hostKeyMismatch(presented, expected, ctx))
        else reject(diagnoseSftpError(err, ctx, 'connect'))
      }
      const closedEarly = (): void => fail(Object.assign(new Error('connection closed during the handshake'), { level: 'client-socket' }))
      client.on('error', fail)
      client.once('close', closedEarly)
      // servers that take passwords only through keyboard-interactive (PAM) ask for it as a prompt
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
        finish(prompts.map(() => this.#credentials.password ?? ''))
      })
      client.once('ready', () => {
        client.sftp((err, sftp) => {
          if (err) {
            client.end()
            fail(err)
            return
          }
          settled = true
          client.removeListener('error', fail)
          client.removeListener('close', closedEarly)
          resolve({ client, sftp, closed: false })
        })
      })
      const { username, password, privateKey, passphrase } = this.#credentials
      try {
        client.connect({
          sock: socket,
          username,
          ...(password !== undefined ? { password, tryKeyboard: true } : {}),
          ...(privateKey !== undefined ? { privateKey, ...(passphrase !== undefined ? { passphrase } : {}) } : {}),
          readyTimeout: this.timeouts.readyTimeoutMs,
          // a dead peer is noticed within ~3 stall periods even when no request is waiting
          keepaliveInterval: this.timeouts.stallTimeoutMs,
          keepaliveCountMax: 3,
          hostVerifier: (key: Buffer) => {
            presented = { fingerprint: fingerprintOf(key), keyType: keyTypeOf(key) }
            return expected !== null && presented.fingerprint === expected
          },
        })
      } catch {
        // ssh2 parses the private key in connect(); its message is not passed on (it may quote the key)
        settled = true
        socket.destroy()
        reject(sftpError('SFTP_AUTH_FAILED', 'private_key_unreadable', 'config.secretRef',
          'The private key in the secret could not be read: not an OpenSSH or PEM private key, or the passphrase is wrong or missing.', ctx))
      }
    }).catch((err: unknown) => {
      release()
      throw err
    })
    // after the handshake, errors surface through the requests they break; keep them from being unhandled
    client.on('error', () => {})
    client.once('close', () => {
      conn.closed = true
      release()
    })
    return conn
  }

  private hostKeyMismatch (presented: { fingerprint: string, keyType: string }, expected: string | null, ctx: SftpContext): AppError {
    const shown = `${presented.keyType} ${presented.fingerprint}`
    const message = expected === null
      ? `No valid host key is pinned for the SFTP server ${server(ctx)}. It presented ${shown}. ` +
        'Confirm that fingerprint with the server\'s administrator (ssh-keygen -lf on the server\'s public host key), ' +
        `then set hostKey to "${presented.fingerprint}".`
      : `The SFTP server ${server(ctx)} presented the host key ${shown}, which does not match the pinned hostKey ${expected}. ` +
        'If the server\'s key was changed on purpose, confirm the new fingerprint with its administrator and ' +
        `set hostKey to "${presented.fingerprint}"; otherwise the connection may be intercepted.`
    return sftpError('SFTP_HOST_KEY_MISMATCH', expected === null ? 'host_key_missing' : 'host_key_mismatch', 'config.hostKey', message, ctx, {
      presentedFingerprint: presented.fingerprint,
      presentedKeyType: presented.keyType,
      ...(expected !== null ? { expectedFingerprint: expected } : {}),
    })
  }

  /** Resolves the host through the guard and connects to the first checked address that answers. */
  private async openSocket (ctx: SftpContext): Promise<net.Socket> {
    let addresses
    try {
      addresses = await resolveAllowed(this.config.host, this.options.policy, { resolver: this.options.resolver })
    } catch (err) {
      throw diagnoseSftpError(err, ctx, 'connect')
    }
    let lastError: unknown
    for (const { address } of addresses) {
      try {
        return await connectTcp(address, this.port, this.timeouts.connectTimeoutMs)
      } catch (err) {
        lastError = err
      }
    }
    throw isAppError(lastError) ? lastError : diagnoseSftpError(lastError, ctx, 'connect')
  }
}

/** A TCP connection to an IP address (no lookup: it is the address the guard checked). */
function connectTcp (address: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port })
    const timer = setTimeout(() => {
      socket.destroy()
      reject(Object.assign(new Error(`connect ETIMEDOUT ${address}:${port}`), { code: 'ETIMEDOUT' }))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(socket)
    })
    socket.once('error', err => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/**
 * Streams an open SFTP file one READ request at a time; each request is under the stall timeout.
 * It ends at `size` (the size the etag was checked against), which spares the round trip of a
 * READ that would only answer end-of-file: that is one of five per small file.
 */
class SftpReadStream extends Readable {
  private position = 0

  constructor (private readonly size: number, private readonly readAt: (buffer: Buffer, position: number) => Promise<number>,
    private readonly closeHandle: () => Promise<void>, private readonly truncated: (at: number) => Error) {
    super({ highWaterMark: READ_CHUNK })
  }

  override _read (): void {
    if (this.position >= this.size) {
      this.push(null)
      return
    }
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, this.size - this.position))
    this.readAt(buffer, this.position).then(n => {
      if (n === 0) {
        // cut short while being read: never hand on part of a file as if it were all of it
        this.destroy(this.truncated(this.position))
        return
      }
      this.position += n
      this.push(buffer.subarray(0, n))
    }, (err: Error) => this.destroy(err))
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.closeHandle().then(() => callback(err), () => callback(err))
  }
}

/**
 * Runs `fn` with a transport on one connection and always closes it afterwards: how a pull, a
 * push, a ping or a Test uses SFTP (credentials live for this call only).
 */
export async function withSftp<T> (config: SftpConfig, credentials: SftpCredentials, options: SftpTransportOptions,
  fn: (transport: SftpTransport) => Promise<T>): Promise<T> {
  const transport = new SftpTransport(config, credentials, options)
  try {
    return await fn(transport)
  } finally {
    await transport.close()
  }
}
