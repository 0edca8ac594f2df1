import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { AppError, shuttingDown } from '../errors.js'
import type { Logger } from '../log.js'

/**
 * Temp files live in `$FERRY_DATA_DIR/tmp/<pid>@<host>/`, one directory per process: the data
 * directory is the operator's (sized and protected as such), not the machine's /tmp, and a process
 * killed with SIGKILL leaves its directory behind for the next start on that host to sweep
 * ({@link sweepTempDirs}), without touching the files of another process that shares the data
 * directory and is still alive.
 */
export function processTempDir (dataDir: string): string {
  return path.join(dataDir, 'tmp', `${process.pid}@${os.hostname()}`)
}

/** Temp directories this process has created (see ensureDir); a sweep that removes one forgets it. */
const madeDirs = new Set<string>()

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by someone else
  }
}

/**
 * At start: removes the temp directories of processes of this host that are gone (and one with
 * this process's own pid, left by an earlier process that had it). Other hosts' directories are
 * left to their own starts. Returns the directories removed.
 */
export async function sweepTempDirs (dataDir: string, logger: Logger): Promise<string[]> {
  const root = path.join(dataDir, 'tmp')
  const entries = await fs.promises.readdir(root, { withFileTypes: true }).catch(() => [])
  const removed: string[] = []
  for (const entry of entries) {
    const match = /^(\d+)@(.+)$/.exec(entry.name)
    if (!entry.isDirectory() || !match || match[2] !== os.hostname()) continue
    const pid = Number(match[1])
    if (pid !== process.pid && alive(pid)) continue
    const dir = path.join(root, entry.name)
    await fs.promises.rm(dir, { recursive: true, force: true })
      .then(() => { removed.push(entry.name); madeDirs.delete(dir) })
      .catch((err) => logger.warn({ err, dir: entry.name }, 'could not remove a temp directory left by a stopped process'))
  }
  if (removed.length) logger.info({ removed }, 'removed temp files left by stopped processes')
  return removed
}

/**
 * Creates a temp directory once per process. Synchronously: the body's listeners must be attached
 * in the same tick the caller hands it over, or an error it emits meanwhile would go unheard.
 */
function ensureDir (dir: string): void {
  if (madeDirs.has(dir)) return
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  madeDirs.add(dir)
}

export interface SpoolOptions {
  /** the directory of the temp file (created if missing, mode 0700): {@link processTempDir} */
  dir: string
  /** more bytes than this → 413 PAYLOAD_TOO_LARGE as soon as the limit is crossed */
  maxBytes: number
  /** sees every chunk in order (the signature's HMAC) */
  onChunk: (chunk: Buffer) => void
  /** write the bytes to a temp file; false only counts and hashes them (a replayed delivery) */
  toFile: boolean
  /** also keep the body in memory while it is at most this many bytes (the library check) */
  keepUpTo: number
  /** how long the body may stall (no byte arrives) before it is abandoned (408 REQUEST_TIMEOUT) */
  idleTimeoutMs: number
  /** aborted when the process stops: the body is abandoned with SHUTTING_DOWN (503) */
  signal?: AbortSignal
}

export interface Spooled {
  /** the temp file (mode 0600 under `dir`), or null when `toFile` was false */
  path: string | null
  bytes: number
  /** the whole body if it had at most `keepUpTo` bytes, else null */
  kept: Buffer | null
  /** deletes the temp file; safe to call more than once */
  remove (): Promise<void>
}

/**
 * Reads a request body to its end without holding it: each chunk is handed to `onChunk` and
 * written to a private temp file, with backpressure (the socket is paused while the disk catches
 * up). The request stream itself is never destroyed: on a refusal (too large, stalled) it is only
 * paused and detached, so the caller can still answer on the socket; the answer then closes the
 * connection (see the route's onSend hook). The temp file is removed on every failure.
 */
export async function spoolBody (body: Readable, options: SpoolOptions): Promise<Spooled> {
  if (options.toFile) ensureDir(options.dir)
  const file = options.toFile ? path.join(options.dir, `ferry-spool-${randomUUID()}`) : null
  const out = file ? fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }) : null
  // a stream destroyed before its file was opened still creates it: wait for the close before removing
  const closed = out ? new Promise<void>(resolve => out.once('close', () => resolve())) : Promise.resolve()
  const remove = async (): Promise<void> => {
    if (file) await fs.promises.rm(file, { force: true })
  }
  let bytes = 0
  let kept: Buffer[] | null = []
  let keptBytes = 0

  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false
      let timer: NodeJS.Timeout | undefined
      const idle = options.idleTimeoutMs
      const arm = () => {
        clearTimeout(timer)
        timer = setTimeout(() => finish(new AppError('REQUEST_TIMEOUT',
          `No part of the request body arrived for ${Math.round(idle / 1000)} s; the delivery was abandoned.`)), idle)
        timer.unref()
      }
      const finish = (err?: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        body.off('data', onData)
        body.off('end', onEnd)
        body.off('error', onError)
        body.off('close', onClose)
        options.signal?.removeEventListener('abort', onAbort)
        out?.off('drain', onDrain)
        if (err) {
          body.pause()
          if (out) out.destroy()
          reject(err)
          return
        }
        if (!out) { resolve(); return }
        out.end((e?: Error | null) => { if (e) reject(e); else resolve() })
      }
      const onData = (chunk: Buffer | string) => {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        bytes += buf.length
        if (bytes > options.maxBytes) {
          finish(new AppError('PAYLOAD_TOO_LARGE', `The body exceeds the limit of ${options.maxBytes} bytes (FERRY_INBOUND_MAX_BYTES).`, {
            details: { limitBytes: options.maxBytes },
          }))
          return
        }
        arm()
        options.onChunk(buf)
        if (kept) {
          keptBytes += buf.length
          if (keptBytes > options.keepUpTo) kept = null
          else kept.push(buf)
        }
        if (out && !out.write(buf)) body.pause()
      }
      const onDrain = () => { if (!settled) body.resume() }
      const onEnd = () => finish()
      const onError = (err: Error) => finish(new AppError('VALIDATION_FAILED',
        'The request body could not be read to its end (the connection broke).', { cause: err }))
      const onClose = () => { if (!body.readableEnded) onError(new Error('request closed before its end')) }
      const onAbort = () => finish(shuttingDown())
      out?.on('error', (err) => finish(err))
      out?.on('drain', onDrain)
      body.on('data', onData)
      body.on('end', onEnd)
      body.on('error', onError)
      body.on('close', onClose)
      options.signal?.addEventListener('abort', onAbort)
      arm()
      body.resume()
      if (options.signal?.aborted) onAbort()
    })
  } catch (err) {
    await closed
    await remove()
    throw err
  }
  return { path: file, bytes, kept: kept ? Buffer.concat(kept, keptBytes) : null, remove }
}
