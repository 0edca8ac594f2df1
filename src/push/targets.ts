import { createHash } from 'node:crypto'
import { PassThrough, Transform, pipeline, type Readable } from 'node:stream'
import type { Deps } from '../deps.js'
import type { MappingJob } from '../db/sql/jobs.js'
import type { SourceConfig } from '../domain/source.js'
import { AppError } from '../errors.js'
import type { KindDescriptor } from '../kinds/types.js'
import { CONTENT_TYPES, type ResultFormat } from '../results/format.js'
import { streamJobResults } from '../results/rows.js'
import type { AttemptOutcome } from './delivery.js'

/**
 * The Standard Webhooks message id of a (job, sink) pair: the same on every attempt and every
 * repeated push of that job to that sink, so a receiver can drop duplicates by it.
 */
export const webhookIdFor = (jobId: string, sinkId: string): string =>
  `msg_${createHash('sha256').update(`${jobId}:${sinkId}`).digest('base64url').slice(0, 32)}`

/**
 * A job's results in `format` as one buffer, for a sink that sends them inline (the webhook's POST
 * body), refusing more than `max` bytes (FERRY_WEBHOOK_INLINE_MAX_BYTES).
 */
export async function inlineResults (deps: Pick<Deps, 'db'>, job: MappingJob, format: ResultFormat, max: number): Promise<Buffer> {
  const stream = streamJobResults(deps.db, job, format)
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of stream) {
    total += (chunk as Buffer).length
    if (total > max) {
      stream.destroy()
      throw new AppError('RESULTS_TOO_LARGE',
        `The results are larger than a webhook sink's inline limit of ${max} bytes (FERRY_WEBHOOK_INLINE_MAX_BYTES). ` +
        'Push large results to an S3 sink instead (type "s3", role "RESULTS_SINK").',
        { details: { limitBytes: max } })
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks, total)
}

/** Counts the bytes that pass through. */
class ByteCounter extends Transform {
  bytes = 0
  override _transform (chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length
    cb(null, chunk)
  }
}

/**
 * One attempt against a file-store sink (any kind with a transport): the results are streamed to
 * `key` with the transport's `put`. Returns an AttemptOutcome for any answer or failure of the
 * target; only a lost lease (`beforeSend` throws) and bugs escape.
 */
export async function attemptPut (
  deps: Deps, kind: KindDescriptor, sink: { orgId: string, config: SourceConfig }, job: MappingJob,
  attempt: { key: string, format: ResultFormat, beforeSend: () => Promise<void> },
): Promise<AttemptOutcome> {
  const { key, format } = attempt
  const started = performance.now()
  try {
    if (!kind.withTransport) throw new TypeError(`kind ${kind.type} has neither a transport nor a deliver function`)
    return await kind.withTransport(deps, sink.orgId, sink.config, async (transport) => {
      await attempt.beforeSend()
      const counter = new ByteCounter()
      // pipeline: a database error while reading destroys the body, and the upload fails with it
      const body: Readable = pipeline(streamJobResults(deps.db, job, format), counter, new PassThrough(), () => {})
      const { etag } = await transport.put(key, body, CONTENT_TYPES[format])
      return { kind: 'stored', key, etag, bytes: counter.bytes, durationMs: Math.round(performance.now() - started) }
    })
  } catch (err) {
    if (err instanceof AppError && err.code === 'LEASE_LOST') throw err
    return { kind: 'error', error: err, durationMs: Math.round(performance.now() - started) }
  }
}
