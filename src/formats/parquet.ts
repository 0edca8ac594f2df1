import { promises as fs } from 'node:fs'
import type { Readable } from 'node:stream'
import { isUtf8 } from 'node:buffer'
import { parquetMetadataAsync, parquetScan, parquetSchema, type AsyncBuffer, type DecodedArray, type FileMetaData, type RowGroup } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'
import { AppError, isAppError } from '../errors.js'
import { cellTooLong, headerKeys, onceWarner, tooManyRows } from './columns.js'
import { isoDate } from './xlsx.js'
import { spoolToTempFile } from './xlsx-guard.js'
import { ROW_BATCH, type FormatParser, type ParseOptions, type ParsedRow } from './types.js'

/**
 * Apache Parquet, read with hyparquet.
 * - The file is spooled to a private temp file (the footer, which says where everything is, is at the
 *   end) and read through positioned reads: the whole file is never in memory.
 * - Row group by row group, column by column: a group's columns are decoded, its rows are built from
 *   them one batch at a time and handed on, and the group is dropped before the next one is read, so
 *   memory follows the writer's row-group size (pyarrow: ≤ 1 M rows), not the file's size. The
 *   columns whose pages are indexed (an offset index, as parquet-mr, Spark and hyparquet-writer
 *   write; pyarrow only with `write_page_index`) are decoded a few MiB at a time instead (groupPlan).
 * - The footer's metadata is refused beyond 64 MiB (a real one is kilobytes; a crafted length would
 *   otherwise be allocated as claimed).
 * - The columns are the top-level fields of the schema; `row` is the record's 1-based position.
 * - Values are mapped to what the pipeline reads: INT64 → number (string if beyond 2^53), dates and
 *   timestamps → ISO strings (as XLSX dates), DECIMAL → number, UTF-8 → string, other binary → UTF-8
 *   text if valid else base64, lists/structs → plain JSON (kept in attributes). Snappy, gzip, zstd,
 *   brotli and LZ4 pages are read (hyparquet-compressors).
 */
export const parquetParser: FormatParser = {
  format: 'parquet',
  parse: parseParquet,
}

const MAX_FOOTER_BYTES = 64 * 1024 * 1024
/** uncompressed bytes of a row group's indexed columns decoded at once (groupPlan) */
const SLICE_BYTES = 4 * 1024 * 1024

async function * parseParquet (input: Readable, options: ParseOptions): AsyncGenerator<ParsedRow[]> {
  const { limits } = options
  const spooled = await spoolToTempFile(input, limits.maxFileBytes, 'parquet')
  const handle = await fs.open(spooled.path, 'r')
  try {
    const file = fileBuffer(handle, spooled.bytes)
    const metadata = await readMetadata(handle, file, spooled.bytes)
    const total = Number(metadata.num_rows)
    if (total > limits.maxRows) throw tooManyRows(limits, total)
    const names = parquetSchema(metadata).children.map(c => c.element.name)
    const keys = headerKeys(names, i => String(i + 1), limits, onceWarner(options.onWarning))
    options.onLayout?.({ headers: keys.filter((k): k is string => k !== undefined) })

    // only the columns that have a key are read (the others are never decoded)
    const columns = names.flatMap((name, c) => keys[c] === undefined ? [] : [{ name, key: keys[c] as string }])
    let groupStart = 0
    for (const group of metadata.row_groups) {
      yield * readRowGroup({ file, metadata, group, groupStart, columns, limits })
      groupStart += Number(group.num_rows)
    }
  } catch (err) {
    throw parquetFailure(err)
  } finally {
    await handle.close()
    await spooled.remove()
  }
}

interface ReadColumn { name: string, key: string }

/**
 * One row group's rows, in batches of ROW_BATCH, built from its columns (hyparquet's `parquetScan`):
 * the values of a batch are taken from the decoded column arrays, so no row object exists beyond
 * the batch being handed on. How much is decoded at once is `groupPlan`'s.
 */
async function * readRowGroup ({ file, metadata, group, groupStart, columns, limits }: {
  file: AsyncBuffer, metadata: FileMetaData, group: RowGroup, groupStart: number, columns: ReadColumn[], limits: ParseOptions['limits']
}): AsyncGenerator<ParsedRow[]> {
  const groupEnd = groupStart + Number(group.num_rows)
  if (groupEnd === groupStart) return
  const plan = groupPlan(group, columns)
  const scan = await parquetScan({ file, metadata, compressors, rowStart: groupStart, rowEnd: groupEnd, useOffsetIndex: true })
  const read = async (sliced: boolean, rowStart: number, rowEnd: number) => await Promise.all(plan.columns.map(async column =>
    column.sliced === sliced ? await scan.readColumn({ column: column.name, rowStart, rowEnd }) : undefined))
  const whole = await read(false, groupStart, groupEnd)
  for (let sliceStart = groupStart; sliceStart < groupEnd; sliceStart += plan.step) {
    const sliceEnd = Math.min(sliceStart + plan.step, groupEnd)
    const sliced = await read(true, sliceStart, sliceEnd)
    // each column (in the file's order) with its decoded values and the file row they start at
    const sources = plan.columns.map(({ key, sliced: inSlice }, i) => inSlice
      ? { key, data: sliced[i] as DecodedArray, first: sliceStart }
      : { key, data: whole[i] as DecodedArray, first: groupStart })
    for (let batchStart = sliceStart; batchStart < sliceEnd; batchStart += ROW_BATCH) {
      const batch: ParsedRow[] = []
      for (let index = batchStart; index < Math.min(batchStart + ROW_BATCH, sliceEnd); index++) {
        const row = index + 1
        const values: Record<string, unknown> = {}
        for (const { key, data, first } of sources) {
          const value = plainValue(data[index - first])
          if (typeof value === 'string' && value.length > limits.maxCellChars) throw cellTooLong(limits, row, value.length, `Column "${key}"`)
          values[key] = value
        }
        batch.push({ row, values })
      }
      yield batch
    }
  }
}

/**
 * How a row group is decoded. A column whose chunks have an offset index (their page locations)
 * can be read for a row range: hyparquet reads and decodes only the pages the range overlaps. A
 * chunk without one (writers leave it out for a chunk of one page) is decoded whole for any range.
 * So the unindexed columns are decoded once for the whole group (`whole`), and the indexed ones
 * (`sliced`) in slices of about SLICE_BYTES of uncompressed data, `step` rows each; decoding again
 * the page that straddles two slices is the price. A group whose indexed columns are small is read
 * at once. Without any offset index (pyarrow's default) memory follows the row-group size.
 */
function groupPlan (group: RowGroup, columns: ReadColumn[]): { columns: Array<ReadColumn & { sliced: boolean }>, step: number } {
  const rows = Number(group.num_rows)
  let slicedBytes = 0
  const planned = columns.map(column => {
    const chunks = group.columns.filter(chunk => chunk.meta_data?.path_in_schema[0] === column.name)
    const sliced = chunks.length > 0 && chunks.every(chunk => chunk.offset_index_offset !== undefined && Boolean(chunk.offset_index_length))
    if (sliced) for (const chunk of chunks) slicedBytes += Number(chunk.meta_data?.total_uncompressed_size ?? 0)
    return { ...column, sliced }
  })
  if (slicedBytes <= SLICE_BYTES) return { columns: planned.map(column => ({ ...column, sliced: false })), step: Math.max(rows, 1) }
  return { columns: planned, step: Math.max(ROW_BATCH, Math.ceil(rows * SLICE_BYTES / slicedBytes)) }
}

/** hyparquet's view of the temp file: each slice is one positioned read. */
function fileBuffer (handle: fs.FileHandle, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice (start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? byteLength, byteLength)
      const length = Math.max(0, stop - start)
      // an ArrayBuffer of its own, exactly this long: handed to hyparquet without a copy (every byte is read below)
      const buf = Buffer.allocUnsafeSlow(length)
      let read = 0
      while (read < length) {
        const { bytesRead } = await handle.read(buf, read, length - read, start + read)
        if (bytesRead === 0) break
        read += bytesRead
      }
      return read === length ? buf.buffer as ArrayBuffer : buf.buffer.slice(0, read) as ArrayBuffer
    },
  }
}

async function readMetadata (handle: fs.FileHandle, file: AsyncBuffer, bytes: number): Promise<FileMetaData> {
  if (bytes < 12) throw new AppError('PARSE_FAILED', 'The Parquet file is truncated: it is too short to hold a footer.')
  const tail = Buffer.alloc(8)
  await handle.read(tail, 0, 8, bytes - 8)
  if (tail.toString('latin1', 4) !== 'PAR1') {
    throw new AppError('PARSE_FAILED', 'The Parquet file is truncated or corrupt: it does not end with the "PAR1" footer mark.')
  }
  const footer = tail.readUInt32LE(0)
  if (footer > MAX_FOOTER_BYTES || footer > bytes - 12) {
    throw new AppError('PARSE_FAILED',
      `The Parquet footer claims ${footer} bytes of metadata; the file is corrupt or the metadata is over ${MAX_FOOTER_BYTES} bytes.`)
  }
  return await parquetMetadataAsync(file)
}

/** A Parquet value as JSON-safe data the pipeline maps (see the header comment). */
export function plainValue (value: unknown): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (value instanceof Date) return isoDate(value)
  if (value instanceof Uint8Array) {
    const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    return isUtf8(buf) ? buf.toString('utf8') : buf.toString('base64')
  }
  if (Array.isArray(value)) return value.map(plainValue)
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) if (k !== '__proto__') out[k] = plainValue(v)
    return out
  }
  return value
}

function parquetFailure (err: unknown): unknown {
  if (isAppError(err)) return err
  const message = (err as Error)?.message ?? String(err)
  return new AppError('PARSE_FAILED', `The Parquet file could not be read: ${message}`, { cause: err })
}
