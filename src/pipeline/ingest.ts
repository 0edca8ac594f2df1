import type { Readable } from 'node:stream'
import type { PipelineLimits } from '../config.js'
import type { Transaction } from '../db/client.js'
import { createItemWriter, insertRejectedRows, insertUpload, updateUploadCounts, type InventoryUpload, type RejectedRow } from '../db/sql/inventory.js'
import type { AgentMapping } from '../domain/agent.js'
import { AppError, isAppError, shuttingDown } from '../errors.js'
import { openInventoryStream } from '../formats/detect.js'
import { isRowProblem, type FileFormat } from '../formats/types.js'
import { newId } from '../util/ids.js'
import { findTextFlaw, storableText, type FlawAt } from '../util/text.js'
import { CanonicalMapper, type CanonicalItem } from './canonical.js'

/** Rejected rows kept in full per upload; all of them are counted. */
export const REJECTED_ROWS_KEPT = 100

export interface IngestInput {
  orgId: string
  agent: { id: string, mapping: AgentMapping }
  stream: Readable
  fileName: string
  contentType?: string
  /** the source's configured format; otherwise detected */
  format?: FileFormat
  sourceId?: string | null
  syncId?: string | null
}

export interface IngestResult {
  upload: InventoryUpload
  /** the first REJECTED_ROWS_KEPT rejected rows */
  rejected: RejectedRow[]
}

/**
 * The standard inventory pipeline: every path into Ferry (manual uploads, S3 pulls, inbound
 * webhooks) lands a file through `ingest`, inside the caller's transaction so the caller can add
 * its own rows (the pull's file ledger) and commit them together.
 *
 * A file that cannot be read as a whole (a limit, broken syntax, an unsafe XLSX) is rolled back to
 * a savepoint and recorded as a `rejected` upload with the reason; nothing of its rows is kept.
 * Any other failure (the byte stream broke, the database failed) is thrown: the caller's
 * transaction rolls back and the file is taken again later.
 */
export class InventoryPipeline {
  constructor (private readonly options: {
    limits: PipelineLimits
    onRowsAccepted?: (n: number) => void
    /** runs in the same transaction after a file landed (e.g. the auto-map job is enqueued there) */
    afterIngest?: Array<(tx: Transaction, upload: InventoryUpload, input: IngestInput) => Promise<void>>
    /**
     * aborted when the process stops (src/runtime.ts): a file being read fails with SHUTTING_DOWN,
     * and the caller's transaction rolls it back — never recorded as a rejected upload
     */
    signal?: AbortSignal
  }) {}

  async ingest (tx: Transaction, input: IngestInput): Promise<IngestResult> {
    const uploadId = newId()
    const base = { id: uploadId, orgId: input.orgId, agentId: input.agent.id, sourceId: input.sourceId, syncId: input.syncId, fileName: storableText(input.fileName) }
    await tx.exec('SAVEPOINT ferry_file')
    let bytesRead = () => 0
    let detected: { format?: FileFormat, encoding?: string } = {}
    let writer: ReturnType<typeof createItemWriter> | undefined
    const { signal } = this.options
    // a parser waiting for the next bytes of a slow body wakes up with the stream's error
    const stop = () => { input.stream.destroy(shuttingDown()) }
    signal?.addEventListener('abort', stop, { once: true })
    try {
      if (signal?.aborted) throw shuttingDown()
      // the upload row comes first: the items carry its compact key
      const started = await insertUpload(tx, { ...base, bytes: 0, rowsAccepted: 0, rowsRejected: 0, status: 'ingested', warnings: [] })
      writer = createItemWriter(tx, started)
      const warnings: string[] = []
      const opened = await openInventoryStream(input.stream, {
        fileName: input.fileName,
        contentType: input.contentType,
        format: input.format,
        limits: this.options.limits,
        sheetName: input.agent.mapping.sheetName,
        // warnings quote header names, which are the file's text
        onWarning: (w: string) => { addWarning(warnings, w) },
      })
      bytesRead = opened.bytesRead
      detected = { format: opened.format, encoding: opened.encoding }
      for (const w of opened.warnings) addWarning(warnings, w)

      const mapper = new CanonicalMapper(input.agent.mapping)
      const rejected: RejectedRow[] = []
      let accepted = 0
      let rejectedCount = 0
      // a batch's items are mapped without awaiting and written in one call
      const items: CanonicalItem[] = []
      for await (const batch of opened.batches) {
        if (signal?.aborted) throw shuttingDown()
        for (let i = 0; i < batch.length; i++) {
          const parsed = batch[i]
          if (accepted + rejectedCount >= this.options.limits.maxRows) {
            throw new AppError('TOO_MANY_ROWS', `The file has more than ${this.options.limits.maxRows} rows.`)
          }
          // a value PostgreSQL cannot store rejects its row (and the row is not kept raw either)
          const flaw = isRowProblem(parsed) ? undefined : findTextFlaw(parsed.values)
          const outcome = isRowProblem(parsed) ? parsed.error : flaw !== undefined ? flawReason(flaw) : mapper.map(parsed.row, parsed.values)
          if (typeof outcome !== 'string') {
            accepted++
            items.push(outcome)
          } else {
            rejectedCount++
            if (rejected.length < REJECTED_ROWS_KEPT) {
              // a parser's reason may quote the text it could not read
              rejected.push({ row: parsed.row, reason: storableText(outcome), ...(isRowProblem(parsed) || flaw !== undefined ? {} : { raw: parsed.values }) })
            }
          }
        }
        await writer.write(items)
        items.length = 0
      }
      await writer.finish()
      await insertRejectedRows(tx, uploadId, rejected)
      for (const w of opened.warnings) addWarning(warnings, w)
      const upload = await updateUploadCounts(tx, uploadId, {
        format: opened.format, encoding: opened.encoding, bytes: bytesRead(), rowsAccepted: accepted, rowsRejected: rejectedCount, warnings,
      })
      await tx.exec('RELEASE SAVEPOINT ferry_file')
      for (const hook of this.options.afterIngest ?? []) await hook(tx, upload, input)
      this.options.onRowsAccepted?.(accepted)
      return { upload, rejected: rejected.map(({ row, reason }) => ({ row, reason })) }
    } catch (caught) {
      await writer?.abort()
      // whatever the cut-off stream made the parser say, this file was not refused: it is taken again
      const err = signal?.aborted ? shuttingDown() : caught
      if (!isAppError(err) || err.failureType !== 'config') throw err
      await tx.exec('ROLLBACK TO SAVEPOINT ferry_file')
      const upload = await insertUpload(tx, {
        ...base,
        format: detected.format,
        encoding: detected.encoding,
        bytes: bytesRead(),
        rowsAccepted: 0,
        rowsRejected: 0,
        status: 'rejected',
        error: { code: err.code, message: storableText(err.message) },
        warnings: [],
      })
      await tx.exec('RELEASE SAVEPOINT ferry_file')
      return { upload, rejected: [] }
    } finally {
      signal?.removeEventListener('abort', stop)
    }
  }
}

function addWarning (warnings: string[], warning: string): void {
  const w = storableText(warning)
  if (!warnings.includes(w)) warnings.push(w)
}

/** The reason a row with text PostgreSQL cannot store is rejected; names where it is, never quotes it. */
function flawReason ({ flaw, path, inKey }: FlawAt): string {
  const where = path.slice(1, 101)
  if (inKey) return where === '' ? `a column name holds ${flaw}, which cannot be stored` : `a key inside "${where}" holds ${flaw}, which cannot be stored`
  return `"${where}" holds ${flaw}, which cannot be stored`
}
