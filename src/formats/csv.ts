import type { Readable } from 'node:stream'
import { AppError } from '../errors.js'
import { textFlaw } from '../util/text.js'
import { cellTooLong, headerKeys, onceWarner, tooManyRows } from './columns.js'
import { CsvReader } from './csv-reader.js'
import { noRowsError } from './parse-options.js'
import { peekText, textChunks } from './stream-utils.js'
import { ROW_BATCH, type FormatParser, type ParseOptions, type ParsedRow } from './types.js'

/** Delimiters the sniffer chooses from, in order of preference on a tie. */
export const CSV_DELIMITERS = [',', ';', '\t', '|'] as const
export type CsvDelimiter = typeof CSV_DELIMITERS[number]

const SNIFF_CHARS = 64 * 1024
const SNIFF_RECORDS = 20
/** The bound on one record, so an unterminated quote cannot swallow the whole file. */
const MAX_RECORD_CHARS_CAP = 64 * 1024 * 1024

/**
 * CSV (and TSV / semicolon / pipe separated) text, tokenized by `CsvReader` (csv-reader.ts: the dialect).
 * - The delimiter is sniffed on the first records (quotes respected).
 * - The header is the first non-blank record; names are kept as written (see `headerKeys`).
 * - Blank records (empty line, or only delimiters and spaces) are skipped but keep the line count, and
 *   they count toward `maxRows` like rows do: a file of nothing but line breaks is bounded like any other.
 * - A record with fewer fields than the header, or with non-empty fields beyond it, is a row problem.
 * - `row` is the line the record starts on, header = line 1, quoted newlines counted.
 * - A header-only file yields no rows; a file without any record is EMPTY_FILE.
 * - Cell values are strings, as written (no trimming, no type casting: that is the pipeline's job).
 */
export const csvParser: FormatParser = {
  format: 'csv',
  parse: parseCsv,
}

async function * parseCsv (input: Readable, options: ParseOptions): AsyncGenerator<ParsedRow[]> {
  const { limits } = options
  const warn = onceWarner(options.onWarning)
  const { head, complete, all } = await peekText(textChunks(input), SNIFF_CHARS)
  // parse.headerRow: the lines above the header (a title, a date) are not sniffed nor read
  const headerRow = options.headerRow ?? 1
  const delimiter = options.delimiter ?? sniffDelimiter(dropLines(head, headerRow - 1), complete)
  const reader = new CsvReader(delimiter, Math.min(limits.maxCellChars * limits.maxColumns, MAX_RECORD_CHARS_CAP), options.quote ?? '"')

  let keys: Array<string | undefined> | undefined
  let width = 0
  let rows = 0
  let batch: ParsedRow[] = []
  let first = true
  // Text PostgreSQL cannot store (a NUL, a lone surrogate) is looked for once per chunk: a batch of
  // records read only from clean chunks, under a clean header, is reported storable (onStorableBatch) and
  // its cells are not tested one by one. `flawed` stays set until the reader is between records (a
  // record may span chunks); a batch never holds records of two chunks' takes.
  let keysStorable = false
  let flawed = false
  try {
    let ended = false
    while (!ended) {
      const next = await all.next()
      if (next.done === true) {
        reader.end()
        ended = true
      } else {
        let chunk = next.value
        if (first) {
          first = false
          if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
        }
        if (textFlaw(chunk) !== undefined) flawed = true
        reader.write(chunk)
      }
      const storable = keysStorable && !flawed
      if (!reader.inRecord) flawed = false
      const { records, lines } = reader.take()
      for (let r = 0; r < records.length; r++) {
        const record = records[r]
        const row = lines[r]
        if (row < headerRow) continue
        if (keys === undefined) {
          keys = headerKeys(record, i => String(i + 1), limits, warn)
          width = keys.length
          keysStorable = keys.every(key => key === undefined || textFlaw(key) === undefined)
          options.onLayout?.({ headerRow: row, headers: keys.filter((k): k is string => k !== undefined) })
          continue
        }
        if (++rows + reader.blankRecords > limits.maxRows) throw tooManyRows(limits, row)
        if (record.length > limits.maxColumns) {
          throw new AppError('TOO_MANY_COLUMNS', `The row on line ${row} has ${record.length} fields; the limit is ${limits.maxColumns}.`, {
            details: { row, columns: record.length, limit: limits.maxColumns },
          })
        }
        for (let i = 0; i < record.length; i++) {
          if (record[i].length > limits.maxCellChars) throw cellTooLong(limits, row, record[i].length, `Field ${i + 1}`)
        }
        const problem = record.length === width ? undefined : raggedProblem(record, width)
        if (problem !== undefined) {
          batch.push({ row, error: problem })
        } else {
          const values: Record<string, unknown> = {}
          for (let i = 0; i < width; i++) {
            const key = keys[i]
            if (key !== undefined) values[key] = record[i]
          }
          batch.push({ row, values })
        }
        if (batch.length === ROW_BATCH) {
          if (storable) options.onStorableBatch?.(batch)
          yield batch
          batch = []
        }
      }
      // a chunk of nothing but blank lines yields no row, and still counts
      if (rows + reader.blankRecords > limits.maxRows) throw tooManyRows(limits, undefined)
      if (batch.length > 0) {
        if (storable) options.onStorableBatch?.(batch)
        yield batch
        batch = []
      }
    }
  } finally {
    await all.return(undefined)
  }
  if (keys === undefined && headerRow > 1) {
    const lines = reader.lineCount
    throw noRowsError({}, 'csv', `The header line ${headerRow} (parse.headerRow) was not found: the file has ${lines} line${lines === 1 ? '' : 's'}`)
  }
  if (keys === undefined) throw new AppError('EMPTY_FILE', 'The file has no header and no rows.')
}

/** `text` without its first `n` lines (CRLF, LF or CR each end one). */
function dropLines (text: string, n: number): string {
  let at = 0
  for (let i = 0; i < n && at < text.length; i++) {
    const lf = text.indexOf('\n', at)
    const cr = text.indexOf('\r', at)
    const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr)
    if (end === -1) return ''
    at = end + (text[end] === '\r' && text[end + 1] === '\n' ? 2 : 1)
  }
  return text.slice(at)
}

function raggedProblem (record: string[], width: number): string | undefined {
  if (record.length < width) return `The row has ${record.length} field${record.length === 1 ? '' : 's'}; the header has ${width}.`
  for (let i = width; i < record.length; i++) {
    // empty fields past the header (a trailing delimiter) are harmless
    if (record[i].trim() !== '') return `The row has ${record.length} fields; the header has ${width}.`
  }
  return undefined
}

/**
 * Picks the delimiter among `, ; \t |` that splits the first records into the same, largest number of
 * fields. Quoted fields are skipped, so `"1,5";2` is one `;`. Falls back to `,` (single-column file).
 * `complete` = `text` is the whole file (otherwise its last, possibly cut, record is ignored).
 */
export function sniffDelimiter (text: string, complete = true): CsvDelimiter {
  const records = countDelimiters(text, complete)
  if (records.length === 0) return ','
  let best: CsvDelimiter = ','
  let bestConsistent = -1
  let bestCount = 0
  for (let d = 0; d < CSV_DELIMITERS.length; d++) {
    const first = records[0][d]
    if (first === 0) continue
    let consistent = 0
    for (const counts of records) if (counts[d] === first) consistent++
    if (consistent > bestConsistent || (consistent === bestConsistent && first > bestCount)) {
      best = CSV_DELIMITERS[d]
      bestConsistent = consistent
      bestCount = first
    }
  }
  return best
}

function countDelimiters (text: string, complete: boolean): number[][] {
  const records: number[][] = []
  let counts = [0, 0, 0, 0]
  let inQuotes = false
  let fieldStart = true
  let nonBlank = false
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0
  const endRecord = (): void => {
    if (nonBlank) records.push(counts)
    counts = [0, 0, 0, 0]
    nonBlank = false
    fieldStart = true
  }
  for (; i < text.length && records.length < SNIFF_RECORDS; i++) {
    const c = text[i]
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') i++
        else inQuotes = false
      }
      continue
    }
    if (c === '"' && fieldStart) {
      inQuotes = true
      nonBlank = true
      fieldStart = false
      continue
    }
    if (c === '\n' || c === '\r') {
      endRecord()
      continue
    }
    const d = CSV_DELIMITERS.indexOf(c as CsvDelimiter)
    if (d !== -1) {
      counts[d]++
      nonBlank = true
      fieldStart = true
      continue
    }
    if (c !== ' ') {
      fieldStart = false
      nonBlank = true
    }
  }
  if (i >= text.length && nonBlank && (complete || records.length === 0)) records.push(counts)
  return records
}
