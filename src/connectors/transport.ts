import type { Readable } from 'node:stream'
import type { RemoteFile } from './remote-file.js'

/**
 * What every source kind's connector does, and all it does: list, open and put bytes, and ping.
 * Parsing is the pipeline's, state is the ledger's, naming (`job-{jobId}.{format}`) is the push's.
 * Every failure leaves as an AppError with a stable code (src/errors.ts). Like Airbyte's file-based
 * CDK "stream reader" seam, the pull and the push are written against this interface only.
 */
export interface Transport {
  /** The save-time check: cheapest read that proves reachability, trust (host key, TLS) and credentials. */
  ping (): Promise<void>
  /** Every file at the configured location, one page at a time (keys are what the ledger stores). */
  list (signal?: AbortSignal): AsyncGenerator<RemoteFile[]>
  /** Streams one listed file; a file changed since it was listed may fail (it lands on the next pull). */
  open (file: RemoteFile, signal?: AbortSignal): Promise<Readable>
  /** The first `bytes` of a file (format sniffing for Test and preview). */
  head (file: RemoteFile, bytes: number): Promise<Buffer>
  /** Writes a whole file at `key` (sinks), so that a reader never sees half of it. */
  put (key: string, body: Readable, contentType: string): Promise<{ etag: string | null }>
}
