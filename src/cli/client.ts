import { CliError, type Connection } from './connection.js'
import type { Sync } from '../db/sql/syncs.js'
import type { Check, TestResult } from '../sync/availability.js'

/**
 * A small typed client for the parts of the Ferry API the CLI uses. Every failure becomes a
 * CliError with a message a person can act on; API errors keep their stable code.
 */

export interface SourceInfo {
  id: string
  agentId: string
  name: string
  role: string
  type: string
  enabled: boolean
  config: Record<string, unknown>
}

export interface SyncProgress {
  filesListed?: number
  filesDone?: number
  filesTotal?: number
  bytesDone?: number
  bytesTotal?: number
}

export interface ManifestItem {
  key: string
  status: string
  size: number | null
  rowsAccepted: number
  rowsRejected: number
  reason?: string
  errors?: Array<{ row?: number, message: string }>
}

/** A sync as the API shows it (the server's own type, less its internal columns). */
export type SyncInfo = Omit<Sync, 'orgId' | 'jobId' | 'error' | 'progress' | 'manifest'> & {
  error?: Sync['error']
  progress?: SyncProgress | null
  manifest?: ManifestItem[]
}

export type TestCheck = Check
export type TestOutcome = TestResult

export class ApiError extends CliError {
  constructor (readonly status: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message)
    this.name = 'ApiError'
  }
}

/** Per-request deadlines: the test endpoint may wait on a slow bucket, everything else is quick. */
const DEFAULT_TIMEOUT_MS = 30_000
const TEST_TIMEOUT_MS = 5 * 60_000

export class FerryClient {
  constructor (private readonly connection: Connection) {}

  get baseUrl (): string { return this.connection.baseUrl }

  async request<T> (method: string, path: string, options: { timeoutMs?: number } = {}): Promise<{ status: number, body: T }> {
    const url = `${this.connection.baseUrl}/api/v1${path}`
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    let res: Response
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.connection.apiKey}`, accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (err) {
      const e = err as Error & { cause?: { code?: string, message?: string } }
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new CliError(`Ferry at ${this.connection.baseUrl} did not answer within ${Math.round(timeoutMs / 1000)} s.`)
      }
      const code = e.cause?.code ?? e.cause?.message ?? e.message
      throw new CliError(`Could not reach Ferry at ${this.connection.baseUrl} (${code}). Is the server running? Set FERRY_URL if it listens elsewhere.`)
    }
    const text = await res.text()
    let body: unknown
    try {
      body = text ? JSON.parse(text) : null
    } catch {
      throw new CliError(`Unexpected answer from ${this.connection.baseUrl}: HTTP ${res.status}, not JSON. Is FERRY_URL a Ferry server?`)
    }
    if (res.status >= 200 && res.status < 300) return { status: res.status, body: body as T }
    const err = (body ?? {}) as { code?: unknown, message?: unknown, details?: unknown }
    const code = typeof err.code === 'string' ? err.code : `HTTP_${res.status}`
    let message = typeof err.message === 'string' ? err.message : `HTTP ${res.status}`
    if (res.status === 401) message += ` (key from ${this.connection.keySource})`
    throw new ApiError(res.status, code, message, typeof err.details === 'object' && err.details !== null ? err.details as Record<string, unknown> : undefined)
  }

  async source (sourceId: string): Promise<SourceInfo> {
    try {
      return (await this.request<SourceInfo>('GET', `/data-sources/${encodeURIComponent(sourceId)}`)).body
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        throw new ApiError(404, err.code, `Data source ${sourceId} not found (or it belongs to another organisation than this API key).`)
      }
      throw err
    }
  }

  /** 202 { syncId, joined? }: while a pull runs, its own id with joined: true; a queued scheduled pull → 409 PULL_IN_PROGRESS. */
  async startPull (source: SourceInfo): Promise<{ syncId: string, joined: boolean }> {
    const { body } = await this.request<{ syncId: string, joined?: boolean }>('POST', `${sourcePath(source)}/pull`)
    return { syncId: body.syncId, joined: body.joined === true }
  }

  /** Newest first, without manifests. */
  async syncs (source: SourceInfo, limit: number): Promise<SyncInfo[]> {
    return (await this.request<{ items: SyncInfo[] }>('GET', `${sourcePath(source)}/syncs?limit=${limit}`)).body.items
  }

  /** One sync with its whole manifest. */
  async sync (source: SourceInfo, syncId: string): Promise<SyncInfo> {
    return (await this.request<SyncInfo>('GET', `${sourcePath(source)}/syncs/${encodeURIComponent(syncId)}`)).body
  }

  async test (source: SourceInfo): Promise<TestOutcome> {
    return (await this.request<TestOutcome>('POST', `${sourcePath(source)}/test`, { timeoutMs: TEST_TIMEOUT_MS })).body
  }
}

const sourcePath = (s: SourceInfo) => `/agents/${encodeURIComponent(s.agentId)}/data-sources/${encodeURIComponent(s.id)}`
