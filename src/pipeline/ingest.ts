import fs from 'node:fs'
import { Readable } from 'node:stream'
import type { PipelineLimits } from '../config.js'
import type { Transaction } from '../db/client.js'
import { withSavepoint } from '../db/transactions.js'
import { createItemWriter, insertRejectedRows, insertUpload, updateUploadCounts, type InventoryUpload, type RejectedRow } from '../db/sql/inventory.js'
import type { AgentMapping } from '../domain/agent.js'
import { AppError, isAppError, shuttingDown } from '../errors.js'
import type { ParseSettings } from '../formats/parse-options.js'
import { ByteSource } from '../formats/stream-utils.js'
import type { FileFormat } from '../formats/types.js'
import { spoolToTempFile, type SpooledFile } from '../formats/xlsx-guard.js'
import { isZipMagic, openZip, type OpenedZip } from '../formats/zip.js'
import { newId } from '../util/ids.js'
import { storableText } from '../util/text.js'
import type { CanonicalItem } from './canonical.js'
import { MappedFile, isRejection, type FieldMap, type FileWarning } from './reader.js'

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
  /** how to read the file (the source's parse options, with the upload's or delivery's over them) */
  parse?: ParseSettings
  /** the source's field map: each field it names overrides the agent's mapping.fieldMap */
  fieldMap?: FieldMap
  sourceId?: string | null
  syncId?: string | null
}

export interface IngestResult {
  upload: InventoryUpload
  /** the first REJECTED_ROWS_KEPT rejected rows */
  rejected: RejectedRow[]
  /** the file's warnings for the manifest (their messages are also the upload's `warnings`) */
  warnings: FileWarning[]
}

/** One file of an ingest: the file itself, or one member of a zip archive. */
export interface FileOutcome {
  /** the member's path inside the archive; undefined for the file itself */
  member?: string
  /** the member's uncompressed size */
  size?: number
  /** what landed; undefined when the member was skipped */
  result?: IngestResult
  /** why the member was not read */
  skipped?: string
}

/** The effective field map of a source: its own fields over its agent's. */
export const effectiveFieldMap = (agent: { mapping: AgentMapping }, fieldMap?: FieldMap): FieldMap => ({ ...agent.mapping.fieldMap, ...fieldMap })

/**
 * The standard inventory pipeline: every path into Ferry (manual uploads, S3 pulls, inbound
 * webhooks) lands a file through `ingestAll` (or `ingest` for one file), inside the caller's
 * transaction so the caller can add its own rows (the pull's file ledger) and commit them together.
 *
 * A file that cannot be read as a whole (a limit, broken syntax, an unsafe XLSX, no rows, no sku
 * column) is rolled back to a savepoint and recorded as a `rejected` upload with the reason; nothing
 * of its rows is kept. Any other failure (the byte stream broke, the database failed) is thrown:
 * the caller's transaction rolls back and the file is taken again later.
 */
/** The upload row's fields every outcome of one file shares. */
type UploadBase = Pick<Parameters<typeof insertUpload>[1], 'orgId' | 'agentId' | 'sourceId' | 'syncId' | 'fileName'>

/** How far a file was read when it was refused: what its rejected upload records. */
interface ReadSoFar { bytesRead: () => number, detected: { format?: FileFormat, encoding?: string } }

export class InventoryPipeline {
  constructor (private readonly options: {
    limits: PipelineLimits
    onRowsAccepted?: (n: number) => void
    /** runs in the same transaction after a file landed (e.g. the auto-map job is enqueued there) */
    afterIngest?: Array<(tx: Transaction, upload: InventoryUpload, input: IngestInput) => Promise<void>>
    /** aborted when the process stops: a file being read is rolled back (SHUTTING_DOWN), never recorded as refused */
    signal?: AbortSignal
  }) {}

  /**
   * A file that may be a zip archive (docs/formats.md): by its name (.zip) or, without a workbook
   * name or a configured format, by its magic bytes. Each supported member lands as a file of its own
   * (upload name `archive.zip!member.csv`); a workbook that arrives as a zip is read as XLSX.
   */
  async ingestAll (tx: Transaction, input: IngestInput): Promise<FileOutcome[]> {
    const source = new ByteSource(input.stream)
    const head = await source.peek(4)
    const name = input.fileName.toLowerCase()
    const archive = name.endsWith('.zip') || (input.format === undefined && isZipMagic(head) && !/\.(xlsx|xlsm)$/.test(name))
    const stream = Readable.from(source, { objectMode: false })
    if (!archive) return [{ result: await this.ingest(tx, { ...input, stream }) }]

    let spooled: SpooledFile | undefined
    let zip: OpenedZip | undefined
    try {
      try {
        spooled = await spoolToTempFile(stream, this.options.limits.maxFileBytes, 'zip')
        zip = await openZip(spooled.path, spooled.bytes, this.options.limits)
      } catch (err) {
        if (!isAppError(err) || err.failureType !== 'config') throw err
        return [{ result: await this.#rejected(tx, this.#base(input), err, { bytes: spooled?.bytes ?? 0 }) }]
      }
      if (zip.isWorkbook) return [{ result: await this.ingest(tx, { ...input, stream: fs.createReadStream(spooled.path), format: input.format ?? 'xlsx' }) }]
      const outcomes: FileOutcome[] = []
      for (const member of zip.members) {
        if (member.skip !== undefined) {
          outcomes.push({ member: member.name, size: member.size, skipped: member.skip })
          continue
        }
        const memberStream = await zip.open(member)
        try {
          const result = await this.ingest(tx, { ...input, stream: memberStream, fileName: `${input.fileName}!${member.name}`, contentType: undefined })
          outcomes.push({ member: member.name, size: member.size, result })
        } finally {
          memberStream.destroy()
        }
      }
      if (!outcomes.some(o => o.result !== undefined)) {
        // nothing in it could be read: the archive itself is refused (its skipped members still listed), so the sync is partial
        const none = outcomes.length === 0
          ? new AppError('NO_ROWS', 'The zip archive holds no file (only folders).')
          : new AppError('UNSUPPORTED_FORMAT', 'The zip archive holds no file in a supported format (CSV, JSON, NDJSON, XLSX, Parquet).')
        outcomes.unshift({ result: await this.#rejected(tx, this.#base(input), none, { bytes: spooled.bytes }) })
      }
      return outcomes
    } finally {
      zip?.close()
      await spooled?.remove()
    }
  }

  #base (input: IngestInput): UploadBase {
    return { orgId: input.orgId, agentId: input.agent.id, sourceId: input.sourceId, syncId: input.syncId, fileName: storableText(input.fileName) }
  }

  async ingest (tx: Transaction, input: IngestInput): Promise<IngestResult> {
    const base = { id: newId(), ...this.#base(input) }
    // what the refusal of a file read in part records (its format, encoding and bytes read so far)
    const read: ReadSoFar = { bytesRead: () => 0, detected: {} }
    const { signal } = this.options
    // a parser waiting for the next bytes of a slow body wakes up with the stream's error; one that is
    // between reads (writing a batch) has no listener on the stream, and an 'error' nobody listens to
    // would crash the process: it finds the signal aborted at its next batch instead
    const stop = () => {
      input.stream.on('error', () => {})
      input.stream.destroy(shuttingDown())
    }
    signal?.addEventListener('abort', stop, { once: true })
    try {
      const landed = await withSavepoint<{ result: IngestResult, accepted: number | null }>(tx, () => this.#land(tx, input, base, read), (err) => {
        if (!isAppError(err) || err.failureType !== 'config') return null
        return async () => ({ result: await this.#rejected(tx, base, err, { ...read.detected, bytes: read.bytesRead() }), accepted: null })
      })
      if (landed.accepted === null) return landed.result
      for (const hook of this.options.afterIngest ?? []) await hook(tx, landed.result.upload, input)
      this.options.onRowsAccepted?.(landed.accepted)
      return landed.result
    } finally {
      signal?.removeEventListener('abort', stop)
    }
  }

  /** Reads the file into items and its upload row (in the savepoint of ingest()). */
  async #land (tx: Transaction, input: IngestInput, base: UploadBase & { id: string }, read: ReadSoFar,
  ): Promise<{ result: IngestResult, accepted: number }> {
    const { signal } = this.options
    let writer: ReturnType<typeof createItemWriter> | undefined
    try {
      if (signal?.aborted) throw shuttingDown()
      // the upload row comes first: the items carry its compact key
      const started = await insertUpload(tx, { ...base, bytes: 0, rowsAccepted: 0, rowsRejected: 0, status: 'ingested', warnings: [] })
      writer = createItemWriter(tx, started)
      const file = await MappedFile.open({
        stream: input.stream,
        fileName: input.fileName,
        contentType: input.contentType,
        format: input.format,
        parse: input.parse,
        fieldMap: effectiveFieldMap(input.agent, input.fieldMap),
        limits: this.options.limits,
      })
      read.bytesRead = file.opened.bytesRead
      read.detected = { format: file.format, encoding: file.opened.encoding }

      const rejected: RejectedRow[] = []
      let accepted = 0
      let rejectedCount = 0
      // a batch's items are mapped without awaiting and written in one call
      const items: CanonicalItem[] = []
      for await (const batch of file.outcomes()) {
        if (signal?.aborted) throw shuttingDown()
        for (let i = 0; i < batch.length; i++) {
          const outcome = batch[i]
          if (accepted + rejectedCount >= this.options.limits.maxRows) {
            throw new AppError('TOO_MANY_ROWS', `The file has more than ${this.options.limits.maxRows} rows.`)
          }
          if (!isRejection(outcome)) {
            accepted++
            items.push(outcome)
          } else {
            rejectedCount++
            // a parser's reason may quote the text it could not read
            if (rejected.length < REJECTED_ROWS_KEPT) rejected.push({ ...outcome, reason: storableText(outcome.reason) })
          }
        }
        await writer.write(items)
        items.length = 0
      }
      // warnings quote header names, which are the file's text (a NUL cannot be stored)
      const warnings = file.finish().map(w => ({
        ...w, message: storableText(w.message), ...(w.columns ? { columns: w.columns.map(storableText) } : {}),
      }))
      read.detected.encoding = file.opened.encoding
      await writer.finish()
      await insertRejectedRows(tx, base.id, rejected)
      const upload = await updateUploadCounts(tx, base.id, {
        format: file.format, encoding: file.opened.encoding, bytes: read.bytesRead(), rowsAccepted: accepted, rowsRejected: rejectedCount,
        warnings: [...new Set(warnings.map(w => w.message))],
      })
      return { result: { upload, rejected: rejected.map(({ row, reason }) => ({ row, reason })), warnings }, accepted }
    } catch (caught) {
      await writer?.abort()
      // whatever the cut-off stream made the parser say, this file was not refused: it is taken again
      throw signal?.aborted ? shuttingDown() : caught
    }
  }

  /** A file refused whole: an upload row with the reason, nothing else. */
  async #rejected (tx: Transaction,
    base: Omit<Parameters<typeof insertUpload>[1], 'bytes' | 'rowsAccepted' | 'rowsRejected' | 'status' | 'warnings' | 'id'> & { id?: string },
    err: AppError, detected: { format?: FileFormat, encoding?: string, bytes: number }): Promise<IngestResult> {
    const upload = await insertUpload(tx, {
      ...base,
      id: base.id ?? newId(),
      format: detected.format,
      encoding: detected.encoding,
      bytes: detected.bytes,
      rowsAccepted: 0,
      rowsRejected: 0,
      status: 'rejected',
      error: { code: err.code, message: storableText(err.message) },
      warnings: [],
    })
    return { upload, rejected: [], warnings: [] }
  }
}
