import { promises as fs } from 'node:fs'
import type { Readable } from 'node:stream'
import { isUtf8 } from 'node:buffer'
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData, type RowGroup } from 'hyparquet'
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
 * - Row group by row group: one row group's rows are decoded, handed on in batches and dropped before
 *   the next one is read, so memory follows the writer's row-group size (pyarrow: ≤ 1 M rows), not
 *   the file's size. A large row group whose pages are indexed (an offset index, as parquet-mr,
 *   Spark and hyparquet-writer write; pyarrow only with `write_page_index`) is read in slices of a
 *   few MiB instead (sliceRows).
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
/** uncompressed bytes of a row group decoded at once when its pages can be read alone (sliceRows) */
const SLICE_BYTES = 8 * 1024 * 1024

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

    let groupStart = 0
    for (const group of metadata.row_groups) {
      const groupEnd = groupStart + Number(group.num_rows)
      const step = sliceRows(group)
      for (let rowStart = groupStart; rowStart < groupEnd; rowStart += step) {
        const rowEnd = Math.min(rowStart + step, groupEnd)
        const rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors, rowFormat: 'object', useOffsetIndex: true })
        for (let i = 0; i < rows.length; i += ROW_BATCH) {
          const batch: ParsedRow[] = []
          for (let j = i; j < Math.min(i + ROW_BATCH, rows.length); j++) {
            const record = rows[j]
            const row = rowStart + j + 1
            const values: Record<string, unknown> = {}
            for (let c = 0; c < names.length; c++) {
              const key = keys[c]
              if (key === undefined) continue
              const value = plainValue(record[names[c]])
              if (typeof value === 'string' && value.length > limits.maxCellChars) throw cellTooLong(limits, row, value.length, `Column "${key}"`)
              values[key] = value
            }
            batch.push({ row, values })
          }
          yield batch
        }
      }
      groupStart = groupEnd
    }
  } catch (err) {
    throw parquetFailure(err)
  } finally {
    await handle.close()
    await spooled.remove()
  }
}

/**
 * How many rows of a row group to decode at once. For a column chunk with an offset index (its page
 * locations) hyparquet reads and decodes only the pages a row range overlaps; a chunk without one
 * is decoded whole for every range. So a large group is read in slices of about SLICE_BYTES of
 * uncompressed data when the chunks without an offset index are small (writers leave it out for a
 * chunk of one page): decoding those again for each slice, and the page that straddles two slices
 * of each indexed chunk, is the price. Otherwise the group is read at once.
 */
function sliceRows (group: RowGroup): number {
  const rows = Number(group.num_rows)
  const bytes = Number(group.total_byte_size)
  let unindexed = 0
  for (const chunk of group.columns) {
    if (chunk.offset_index_offset === undefined) unindexed += Number(chunk.meta_data?.total_uncompressed_size ?? bytes)
  }
  if (bytes <= SLICE_BYTES || unindexed > SLICE_BYTES / 2) return Math.max(rows, 1)
  return Math.max(ROW_BATCH, Math.ceil(rows * SLICE_BYTES / bytes))
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
