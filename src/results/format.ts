import { once } from 'node:events'
import { PassThrough, Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import type { ResultFormat } from '../formats/catalogue.js'

/**
 * Result formatters: a job's rows (values in column order, read from the database batch by batch)
 * → the bytes of one file. Every formatter streams: memory holds one chunk, never the result.
 */

export { RESULT_FORMATS, type ResultFormat } from '../formats/catalogue.js'

export const CONTENT_TYPES: Record<ResultFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
}

const CHUNK_CHARS = 64 * 1024

/**
 * Cells that a spreadsheet would run as a formula (OWASP "CSV injection"): a string starting with
 * = + - @ tab or carriage return gets a leading apostrophe. Strings only: the number -5 stays -5.
 */
const FORMULA_START = /^[=+\-@\t\r]/
export const escapeFormula = (s: string): string => (FORMULA_START.test(s) ? `'${s}` : s)

/** One CSV field (RFC 4180 quoting), formula-escaped when it is text. */
export function csvField (value: unknown): string {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : ''
  if (typeof value === 'boolean') return value ? 'true' : 'false'
  const text = escapeFormula(typeof value === 'string' ? value : JSON.stringify(value))
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

export const csvLine = (values: readonly unknown[]): string => values.map(csvField).join(',') + '\r\n'

/** `{"column": value, …}` with the keys in column order (a JS object would move integer-like keys first). */
export function jsonObject (columns: readonly string[], values: readonly unknown[]): string {
  let out = '{'
  for (let i = 0; i < columns.length; i++) {
    if (i > 0) out += ','
    out += JSON.stringify(columns[i]) + ':' + (values[i] === undefined ? 'null' : JSON.stringify(values[i]) ?? 'null')
  }
  return out + '}'
}

/** Renders rows in a text format: strings are gathered into ~64 KiB chunks. */
async function * textChunks (format: Exclude<ResultFormat, 'xlsx'>, columns: readonly string[], rows: AsyncIterable<unknown[]>): AsyncGenerator<Buffer> {
  let chunk = ''
  let first = true
  if (format === 'csv') chunk += csvLine(columns)
  if (format === 'json') chunk += '['
  for await (const values of rows) {
    if (format === 'csv') chunk += csvLine(values)
    else if (format === 'ndjson') chunk += jsonObject(columns, values) + '\n'
    else {
      chunk += (first ? '\n' : ',\n') + jsonObject(columns, values)
      first = false
    }
    if (chunk.length >= CHUNK_CHARS) {
      yield Buffer.from(chunk, 'utf8')
      chunk = ''
    }
  }
  if (format === 'json') chunk += first ? ']\n' : '\n]\n'
  if (chunk) yield Buffer.from(chunk, 'utf8')
}

const xlsxCell = (value: unknown): ExcelJS.CellValue => {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  // objects become their JSON text: exceljs would read { formula } or { richText } objects as such
  return JSON.stringify(value)
}

/**
 * XLSX through exceljs' streaming writer (inline strings, no styles: nothing grows with the row
 * count). Cells are typed (numbers stay numbers); strings are written as string cells, which a
 * spreadsheet never evaluates, so no formula escaping is needed here.
 */
function xlsxStream (columns: readonly string[], rows: AsyncIterable<unknown[]>): Readable {
  const out = new PassThrough()
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: false })
  const sheet = workbook.addWorksheet('results')
  const produce = async () => {
    sheet.addRow([...columns]).commit()
    for await (const values of rows) {
      sheet.addRow(values.map(xlsxCell)).commit()
      // backpressure: wait while the reader is behind
      if (out.writableNeedDrain) await once(out, 'drain')
    }
    sheet.commit()
    await workbook.commit()
  }
  produce().catch((err: Error) => out.destroy(err))
  return out
}

/** The results as a byte stream in `format`. Errors of `rows` (the database) destroy the stream. */
export function renderResults (format: ResultFormat, columns: readonly string[], rows: AsyncIterable<unknown[]>): Readable {
  if (format === 'xlsx') return xlsxStream(columns, rows)
  return Readable.from(textChunks(format, columns, rows), { objectMode: false })
}
