import fs from 'node:fs'
import { Readable } from 'node:stream'
import type { PipelineLimits } from '../config.js'
import type { Db, Transaction } from '../db/client.js'
import {
  abandonStaging, createItemWriter, extendStaging, insertRejectedRows, insertUpload, publishUpload, type InventoryUpload, type RejectedRow,
} from '../db/sql/inventory.js'
import type { AgentMapping } from '../domain/agent.js'
import { AppError, isAppError, shuttingDown } from '../errors.js'
import type { ParseSettings } from '../formats/parse-options.js'
import { ByteSource } from '../formats/stream-utils.js'
import type { FileFormat } from '../formats/types.js'
import { spoolToTempFile, type SpooledFile } from '../formats/xlsx-guard.js'
import { isZipMagic, openZip, type OpenedZip } from '../formats/zip.js'
import { STAGING_LEASE_SECONDS, discardStaged } from '../retention/staged.js'
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

/** The upload row's fields every outcome of one file shares. */
type UploadBase = Pick<Parameters<typeof insertUpload>[1], 'id' | 'orgId' | 'agentId' | 'sourceId' | 'syncId' | 'fileName'>

/** How far a file was read when it was refused: what its rejected upload records. */
interface ReadSoFar { bytesRead: () => number, detected: { format?: FileFormat, encoding?: string } }

/** What the publishing transaction of a file's caller adds (the pull's ledger row and manifest entry, an upload's audit entry). */
export type Publish = (tx: Transaction, outcomes: FileOutcome[]) => Promise<void>

/**
 * Rows per short transaction while a file is staged; a file of at most this many rows is not staged
 * at all but lands whole in its publishing transaction (the common small file pays no extra statement).
 * PGlite is one connection that a transaction holds alone: its chunks stay small so the API's
 * queries get in between (bench/api-during-ingest.ts). PostgreSQL chunks are one COPY each, and small
 * enough that the two a file holds (one filling, one being written) stay young garbage: with 20,000 rows
 * a 1 GB CSV pull peaked at 304 MiB instead of 199 (bench/findings.md "11").
 */
const CHUNK_ROWS: Readonly<Record<Db['kind'], number>> = { pglite: 1_000, postgres: 5_000 }

/** One file read to its end (or refused), not yet published. */
type ReadFile = { input: IngestInput, base: UploadBase } & (
  | { refused: AppError, detected: { format?: FileFormat, encoding?: string, bytes: number } }
  | {
    refused?: undefined
    /** the unpublished upload holding the rows staged so far; absent for a file that fits in one chunk */
    staged?: InventoryUpload
    /** rows not staged yet: written by the publishing transaction */
    tail: CanonicalItem[]
    counts: Parameters<typeof publishUpload>[2]
    rejected: RejectedRow[]
    warnings: FileWarning[]
  })

/** A member of an archive (or the file itself) read and waiting to be published. */
type ReadOutcome = Omit<FileOutcome, 'result'> & { file?: ReadFile }

/**
 * The staged uploads of one ingest: each chunk is a short transaction of its own, and whatever is
 * left unpublished when the ingest fails is given up.
 */
class Staging {
  readonly #unpublished = new Set<InventoryUpload>()
  constructor (private readonly db: Db, readonly chunkRows: number) {}

  /** Writes a chunk of rows in a transaction of its own (the first one inserts the unpublished upload); renews the staging lease. */
  async stage (base: UploadBase, staged: InventoryUpload | undefined, items: readonly CanonicalItem[]): Promise<InventoryUpload> {
    const upload = await this.db.transaction(async (tx) => {
      if (staged && !await extendStaging(tx, staged.id, STAGING_LEASE_SECONDS)) throw new AppError('STAGING_LOST')
      const upload = staged ?? await insertUpload(tx, {
        ...base, bytes: 0, rowsAccepted: 0, rowsRejected: 0, status: 'ingested', warnings: [], stagedSeconds: STAGING_LEASE_SECONDS,
      })
      await writeItems(tx, upload, items)
      return upload
    })
    this.#unpublished.add(upload)
    return upload
  }

  /** A refused file keeps nothing of its rows: its staged upload is purged now. */
  async discard (upload: InventoryUpload): Promise<void> {
    this.#unpublished.delete(upload)
    await discardStaged(this.db, upload)
  }

  /**
   * After a failure: every upload staged by this ingest is purged now or, when the process is
   * stopping, given up in one statement and left to the sweep (src/retention/staged.ts) — as is one
   * whose purge failed here (the database is down): its lease lapses.
   */
  async giveUp (stopping: boolean): Promise<void> {
    for (const upload of this.#unpublished) {
      await (stopping ? abandonStaging(this.db, upload.id) : discardStaged(this.db, upload)).catch(() => {})
    }
    this.#unpublished.clear()
  }
}

async function writeItems (tx: Transaction, upload: InventoryUpload, items: readonly CanonicalItem[]): Promise<void> {
  if (items.length === 0) return
  const writer = createItemWriter(tx, upload)
  try {
    await writer.write(items)
    await writer.finish()
  } catch (err) {
    await writer.abort()
    throw err
  }
}

/**
 * The standard inventory pipeline: every path into Ferry (manual uploads, S3 pulls, inbound
 * webhooks) lands a file through `ingestAll`, which reads it and then publishes it in one short
 * transaction together with the caller's own rows (`publish`: the pull's file ledger and manifest,
 * an upload's audit entry), all or nothing.
 *
 * Short transactions (docs/decisions.md): a file of more than one chunk of rows is staged chunk by
 * chunk, each chunk a short transaction of its own, under an upload that no reader sees until the
 * publishing transaction makes it visible. A file that fits in one chunk is written by the
 * publishing transaction itself. The database connection (PGlite's only one) is never held for a
 * whole file.
 *
 * A file that cannot be read as a whole (a limit, broken syntax, an unsafe XLSX, no rows, no sku
 * column) is recorded as a `rejected` upload with the reason; nothing of its rows is kept (what was
 * staged is purged first). Any other failure (the byte stream broke, the database failed, `publish`
 * threw) is thrown: nothing is published, what was staged is purged (or left to the sweep when the
 * process is stopping), and the file is taken again later.
 */
export class InventoryPipeline {
  constructor (private readonly options: {
    limits: PipelineLimits
    onRowsAccepted?: (n: number) => void
    /** run in the publishing transaction of each file that landed (e.g. the auto-map job is enqueued there) */
    afterIngest?: Array<(tx: Transaction, upload: InventoryUpload, input: IngestInput) => Promise<void>>
    /** aborted when the process stops: a file being read is given up (SHUTTING_DOWN), never recorded as refused */
    signal?: AbortSignal
    /** rows per staged chunk (default by backend: CHUNK_ROWS) */
    chunkRows?: number
  }) {}

  /**
   * A file that may be a zip archive (docs/formats.md): by its name (.zip) or, without a workbook
   * name or a configured format, by its magic bytes. Each supported member lands as a file of its own
   * (upload name `archive.zip!member.csv`); a workbook that arrives as a zip is read as XLSX. Every
   * member is published in the same final transaction.
   */
  async ingestAll (db: Db, input: IngestInput, publish?: Publish): Promise<FileOutcome[]> {
    const staging = new Staging(db, this.options.chunkRows ?? CHUNK_ROWS[db.kind])
    try {
      const read = await this.#readAll(staging, input)
      if (this.options.signal?.aborted) throw shuttingDown()
      const { outcomes, accepted } = await db.transaction(async (tx) => {
        const outcomes: FileOutcome[] = []
        let accepted = 0
        for (const { file, ...outcome } of read) {
          if (!file) {
            outcomes.push(outcome)
            continue
          }
          const result = await this.#publish(tx, file)
          accepted += result.upload.rowsAccepted
          outcomes.push({ ...outcome, result })
        }
        await publish?.(tx, outcomes)
        return { outcomes, accepted }
      })
      this.options.onRowsAccepted?.(accepted)
      return outcomes
    } catch (err) {
      await staging.giveUp(this.options.signal?.aborted ?? false)
      throw err
    }
  }

  async #readAll (staging: Staging, input: IngestInput): Promise<ReadOutcome[]> {
    const source = new ByteSource(input.stream)
    const head = await source.peek(4)
    const name = input.fileName.toLowerCase()
    const archive = name.endsWith('.zip') || (input.format === undefined && isZipMagic(head) && !/\.(xlsx|xlsm)$/.test(name))
    const stream = Readable.from(source, { objectMode: false })
    if (!archive) return [{ file: await this.#read(staging, { ...input, stream }, true) }]

    let spooled: SpooledFile | undefined
    let zip: OpenedZip | undefined
    try {
      try {
        spooled = await spoolToTempFile(stream, this.options.limits.maxFileBytes, 'zip')
        zip = await openZip(spooled.path, spooled.bytes, this.options.limits)
      } catch (err) {
        if (!isAppError(err) || err.failureType !== 'config') throw err
        return [{ file: { input, base: this.#base(input), refused: err, detected: { bytes: spooled?.bytes ?? 0 } } }]
      }
      if (zip.isWorkbook) {
        return [{ file: await this.#read(staging, { ...input, stream: fs.createReadStream(spooled.path), format: input.format ?? 'xlsx' }, true) }]
      }
      const outcomes: ReadOutcome[] = []
      for (const member of zip.members) {
        if (member.skip !== undefined) {
          outcomes.push({ member: member.name, size: member.size, skipped: member.skip })
          continue
        }
        const memberStream = await zip.open(member)
        try {
          // a member's last rows are staged too: the archive's other members are read before anything is published
          const memberInput = { ...input, stream: memberStream, fileName: `${input.fileName}!${member.name}`, contentType: undefined }
          const file = await this.#read(staging, memberInput, false)
          outcomes.push({ member: member.name, size: member.size, file })
        } finally {
          memberStream.destroy()
        }
      }
      if (!outcomes.some(o => o.file !== undefined)) {
        // nothing in it could be read: the archive itself is refused (its skipped members still listed), so the sync is partial
        const none = outcomes.length === 0
          ? new AppError('NO_ROWS', 'The zip archive holds no file (only folders).')
          : new AppError('UNSUPPORTED_FORMAT', 'The zip archive holds no file in a supported format (CSV, JSON, NDJSON, XLSX, Parquet).')
        outcomes.unshift({ file: { input, base: this.#base(input), refused: none, detected: { bytes: spooled.bytes } } })
      }
      return outcomes
    } finally {
      zip?.close()
      await spooled?.remove()
    }
  }

  #base (input: IngestInput): UploadBase {
    return {
      id: newId(), orgId: input.orgId, agentId: input.agent.id, sourceId: input.sourceId, syncId: input.syncId, fileName: storableText(input.fileName),
    }
  }

  /**
   * Reads one file into chunks: each full chunk is staged in a short transaction of its own; the
   * last one (`keepTail`) is left to the publishing transaction, so a file of one chunk is never staged.
   */
  async #read (staging: Staging, input: IngestInput, keepTail: boolean): Promise<ReadFile> {
    const base = this.#base(input)
    // what the refusal of a file read in part records (its format, encoding and bytes read so far)
    const read: ReadSoFar = { bytesRead: () => 0, detected: {} }
    const { signal } = this.options
    // a parser waiting for the next bytes of a slow body wakes up with the stream's error; one that is
    // between reads (writing a chunk) has no listener on the stream, and an 'error' nobody listens to
    // would crash the process: it finds the signal aborted at its next batch instead
    const stop = () => {
      input.stream.on('error', () => {})
      input.stream.destroy(shuttingDown())
    }
    signal?.addEventListener('abort', stop, { once: true })
    let staged: InventoryUpload | undefined
    // The chunk being staged while the parser reads the next one (the database's work overlaps the
    // parsing, as one long COPY did); at most one chunk is in flight.
    let writing: Promise<unknown> | undefined
    const stage = async (chunk: CanonicalItem[]) => {
      await writing
      writing = staging.stage(base, staged, chunk).then((upload) => { staged = upload })
      // awaited before the next chunk, at the end, or on failure
      writing.catch(() => {})
    }
    try {
      if (signal?.aborted) throw shuttingDown()
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
      // the chunk being read: mapped without awaiting, written in one call once full
      let items: CanonicalItem[] = []
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
        if (items.length >= staging.chunkRows) {
          await stage(items)
          items = []
        }
      }
      // warnings quote header names, which are the file's text (a NUL cannot be stored)
      const warnings = file.finish().map(w => ({
        ...w, message: storableText(w.message), ...(w.columns ? { columns: w.columns.map(storableText) } : {}),
      }))
      if (!keepTail && items.length > 0) {
        await stage(items)
        items = []
      }
      await writing
      const counts = {
        format: file.format, encoding: file.opened.encoding, bytes: read.bytesRead(), rowsAccepted: accepted, rowsRejected: rejectedCount,
        warnings: [...new Set(warnings.map(w => w.message))],
      }
      return { input, base, staged, tail: items, counts, rejected, warnings }
    } catch (caught) {
      // whatever the cut-off stream made the parser say, this file was not refused: it is taken again
      const err = signal?.aborted ? shuttingDown() : caught
      // the chunk in flight settles first: a failed ingest gives up every staged upload (ingestAll)
      await writing?.catch(() => {})
      if (!isAppError(err) || err.failureType !== 'config') throw err
      // refused whole: nothing of its rows is kept
      if (staged) await staging.discard(staged)
      return { input, base, refused: err, detected: { ...read.detected, bytes: read.bytesRead() } }
    } finally {
      signal?.removeEventListener('abort', stop)
    }
  }

  /** In the publishing transaction: the file's upload made visible with its counts and last rows, or its refusal recorded. */
  async #publish (tx: Transaction, file: ReadFile): Promise<IngestResult> {
    if (file.refused) return this.#rejected(tx, file.base, file.refused, file.detected)
    let upload: InventoryUpload
    if (file.staged) {
      // null: the staging lease lapsed (a stall of minutes) and the sweep may be purging the rows
      const published = await publishUpload(tx, file.staged.id, file.counts)
      if (!published) throw new AppError('STAGING_LOST')
      upload = published
    } else {
      upload = await insertUpload(tx, { ...file.base, ...file.counts, status: 'ingested' })
    }
    await writeItems(tx, upload, file.tail)
    await insertRejectedRows(tx, upload.id, file.rejected)
    for (const hook of this.options.afterIngest ?? []) await hook(tx, upload, file.input)
    return { upload, rejected: file.rejected.map(({ row, reason }) => ({ row, reason })), warnings: file.warnings }
  }

  /** A file refused whole: an upload row with the reason, nothing else. */
  async #rejected (tx: Transaction, base: UploadBase, err: AppError,
    detected: { format?: FileFormat, encoding?: string, bytes: number }): Promise<IngestResult> {
    const upload = await insertUpload(tx, {
      ...base,
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
