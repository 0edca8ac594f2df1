import type { Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import { AppError, isAppError } from '../errors.js'
import type { PipelineLimits } from '../config.js'
import { cellTooLong, columnLetters, headerKeys, onceWarner, tooManyRows } from './columns.js'
import { guardXlsx, mapZipError, spoolToTempFile, type GuardedXlsx, type XlsxSheet } from './xlsx-guard.js'
import { noRowsError, type FileLayout } from './parse-options.js'
import type { FormatParser, ParseOptions, ParsedRow } from './types.js'

/**
 * XLSX workbooks, read with exceljs' streaming reader behind the guard of xlsx-guard.ts.
 * - The sheet: `parse.sheet` if given (see selectSheet; "*" reads every visible sheet), else the first
 *   visible worksheet in tab order (hidden sheets usually hold lookup lists, not the data).
 * - The header is the first row with a value (at or below `parse.headerRow`); empty rows are skipped (and count
 *   toward maxRows); `row` is the sheet's row number. A workbook whose sheet(s) hold no header at all is NO_ROWS.
 * - Values are typed: numbers stay numbers, booleans booleans, date-formatted cells become ISO strings
 *   ("2024-03-01", or "2024-03-01T08:30:00.000Z" when there is a time of day), formulas give their
 *   cached result (exceljs does not evaluate formulas), error cells their text ("#N/A"), rich text its
 *   plain text. An empty cell is null.
 * - A value in a column without a header is kept as `column_<letter>` (with a warning).
 */
export const xlsxParser: FormatParser = {
  format: 'xlsx',
  parse: parseXlsx,
}

async function * parseXlsx (input: Readable, options: ParseOptions): AsyncGenerator<ParsedRow[]> {
  const { limits } = options
  const spooled = await spoolToTempFile(input, limits.maxFileBytes)
  let guarded: GuardedXlsx | undefined
  let workbook: Readable | undefined
  try {
    if (spooled.bytes === 0) throw new AppError('EMPTY_FILE', 'The file is empty.')
    guarded = await guardXlsx(spooled.path, spooled.bytes, limits)
    const sheets = guarded.sheets.map(s => s.name)
    const warn = onceWarner(options.onWarning)
    // parse.sheet "*": every visible sheet in tab order, each with its own header (row numbers restart per sheet)
    const chosen = options.sheet === '*' ? guarded.sheets.filter(s => !s.hidden) : [selectSheet(guarded.sheets, options.sheet)]
    let found = false
    for (const sheet of chosen) {
      workbook = guarded.workbookFor(sheet)
      const layout = (l: FileLayout): void => options.onLayout?.({ ...l, sheet: sheet.name, sheets })
      found = (yield * readSheet(workbook, sheet, limits, warn, options.headerRow ?? 1, layout)) || found
      workbook.destroy()
    }
    if (!found) {
      const read = chosen.length === 1 ? chosen[0].name : undefined
      throw noRowsError({ sheet: read, sheets }, 'xlsx', options.headerRow !== undefined && read !== undefined
        ? `The sheet "${read}" has no header at or below row ${options.headerRow} (parse.headerRow)`
        : read !== undefined ? `The sheet "${read}" is empty` : 'Every sheet of the workbook is empty')
    }
  } catch (err) {
    throw xlsxFailure(err)
  } finally {
    workbook?.destroy()
    await guarded?.close()
    await spooled.remove()
  }
}

/** parse.sheet: a name (exact, then case-insensitive), a 1-based index in tab order, or unset (the first visible sheet). */
export function selectSheet (sheets: XlsxSheet[], sheetName?: string | number): XlsxSheet {
  if (sheets.length === 0) throw new AppError('PARSE_FAILED', 'The workbook has no worksheet.')
  if (sheetName === undefined || sheetName === '') return sheets.find(s => !s.hidden) ?? sheets[0]
  if (typeof sheetName === 'number') {
    const byIndex = sheets[sheetName - 1]
    if (byIndex === undefined) {
      const names = sheets.map(s => `"${s.name}"`).join(', ')
      const count = `${sheets.length} sheet${sheets.length === 1 ? '' : 's'}`
      throw new AppError('PARSE_FAILED', `The workbook has ${count}, so there is no sheet ${sheetName}; its sheets are: ${names}.`, {
        details: { sheet: sheetName, sheets: sheets.map(s => s.name) },
      })
    }
    return byIndex
  }
  const wanted = sheetName.trim().toLowerCase()
  const sheet = sheets.find(s => s.name === sheetName) ?? sheets.find(s => s.name.trim().toLowerCase() === wanted)
  if (sheet === undefined) {
    throw new AppError('PARSE_FAILED', `The workbook has no sheet named "${sheetName}"; its sheets are: ${sheets.map(s => `"${s.name}"`).join(', ')}.`, {
      details: { sheetName, sheets: sheets.map(s => s.name) },
    })
  }
  return sheet
}

/**
 * Rows per batch, below ROW_BATCH: a batch fills while exceljs parses the XML between its rows, and
 * rows held that long survive into V8's old space — 1,000 per batch raised the peak RSS of parsing the
 * 100 MiB benchmark workbook from 160 to 225 MiB, 100 keeps it at 160 (bench/findings.md, "1. Ingest").
 */
const XLSX_BATCH = 100

type CellLike = { value: unknown, numFmt?: unknown }
type RowLike = { number: number, eachCell: (options: { includeEmpty: boolean }, fn: (cell: CellLike, col: number) => void) => void }

async function * readSheet (
  workbook: Readable,
  sheet: XlsxSheet,
  limits: PipelineLimits,
  warn: (message: string) => void,
  headerRow: number,
  onLayout: (layout: FileLayout) => void,
): AsyncGenerator<ParsedRow[], boolean> {
  // exceljs does not see errors of the stream it reads (it pipes without forwarding them), so each wait
  // on it is raced against that stream failing. Not Promise.race() against one long-lived promise:
  // every call would leave a reaction on it that keeps that row reachable until the sheet ends
  // (heap grew with the row count: 186 MiB for a 10 MiB workbook, bench/findings.md).
  let failure: { error: unknown } | undefined
  let rejectWait: ((err: unknown) => void) | undefined
  workbook.once('error', (err) => { failure = { error: err }; rejectWait?.(err) })
  const race = <T>(p: Promise<T>): Promise<T> => new Promise<T>((resolve, reject) => {
    if (failure !== undefined) return reject(failure.error)
    rejectWait = reject
    p.then((value) => { rejectWait = undefined; resolve(value) }, (err) => { rejectWait = undefined; reject(err) })
  })

  const reader = new ExcelJS.stream.xlsx.WorkbookReader(workbook, {
    sharedStrings: 'cache',
    styles: 'cache', // number formats tell dates from numbers
    hyperlinks: 'ignore',
    worksheets: 'emit',
    entries: 'ignore',
  })
  const sheets = reader[Symbol.asyncIterator]()
  const first = await race(sheets.next())
  if (first.done === true) throw new AppError('PARSE_FAILED', `The sheet "${sheet.name}" could not be read.`)
  const date1904 = (reader as unknown as { properties?: { model?: { date1904?: boolean } } }).properties?.model?.date1904 === true
  const rowsOf = (first.value as unknown as AsyncIterable<RowLike>)[Symbol.asyncIterator]()

  let keys: Array<string | undefined> | undefined
  let rows = 0
  let batch: ParsedRow[] = []
  try {
    for (;;) {
      const next = await race(rowsOf.next())
      if (next.done === true) break
      const row = next.value
      const cells: unknown[] = []
      let width = 0
      row.eachCell({ includeEmpty: false }, (cell, col) => {
        const value = cellValue(cell, date1904)
        if (value === null || value === '') return
        if (col > limits.maxColumns) {
          const column = columnLetters(col - 1)
          throw new AppError('TOO_MANY_COLUMNS', `Row ${row.number} has a value in column ${column}; the limit is ${limits.maxColumns} columns.`, {
            details: { row: row.number, column: col, limit: limits.maxColumns },
          })
        }
        if (typeof value === 'string' && value.length > limits.maxCellChars) {
          throw cellTooLong(limits, row.number, value.length, `Cell ${columnLetters(col - 1)}${row.number}`)
        }
        cells[col - 1] = value
        if (col > width) width = col
      })
      if (width === 0) {
        // an empty row (styled, or holding only empty strings) counts toward the row limit like a blank CSV line
        if (keys !== undefined && ++rows > limits.maxRows) throw tooManyRows(limits, row.number)
        continue
      }
      if (row.number < headerRow) continue // above parse.headerRow
      if (keys === undefined) {
        const names: string[] = []
        for (let i = 0; i < width; i++) names.push(cells[i] === undefined ? '' : String(cells[i]))
        keys = headerKeys(names, columnLetters, limits, warn)
        onLayout({ headerRow: row.number, headers: keys.filter((k): k is string => k !== undefined) })
        continue
      }
      if (++rows > limits.maxRows) throw tooManyRows(limits, row.number)
      const values: Record<string, unknown> = {}
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]
        if (key !== undefined) values[key] = cells[i] ?? null
      }
      for (let i = keys.length; i < width; i++) {
        if (cells[i] === undefined) continue
        const key = `column_${columnLetters(i)}`
        if (key in values) continue
        warn(`Some rows have values in columns without a header; they were kept as "column_<letter>".`)
        values[key] = cells[i]
      }
      batch.push({ row: row.number, values })
      if (batch.length === XLSX_BATCH) {
        yield batch
        batch = []
      }
    }
    if (batch.length > 0) yield batch
  } finally {
    // not awaited: after a failed stream a pending next() may never settle, and return() queues behind it
    rowsOf.return?.()?.catch(() => {})
    sheets.return?.(undefined)?.catch(() => {})
  }
  return keys !== undefined
}

/** A cell's value, typed, as the pipeline receives it. */
export function cellValue (cell: CellLike, date1904: boolean): unknown {
  const value = cell.value
  if (value === null || value === undefined) return null
  if (value instanceof Date) return isoDate(value)
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>
    if ('formula' in v || 'sharedFormula' in v) {
      const result = v.result
      if (result === undefined || result === null) return null
      if (result instanceof Date) return isoDate(result)
      if (typeof result === 'number') {
        if (!Number.isFinite(result)) return null // error results (#DIV/0!) come back as NaN
        return isDateFormat(cell.numFmt) ? isoDate(excelSerialToDate(result, date1904)) : result
      }
      if (typeof result === 'object' && 'error' in (result as object)) return String((result as { error: unknown }).error)
      return result
    }
    if (Array.isArray(v.richText)) return (v.richText as Array<{ text?: unknown }>).map(part => String(part.text ?? '')).join('')
    if ('error' in v) return String(v.error)
    if ('text' in v) return typeof v.text === 'string' ? v.text : null // hyperlink
  }
  return String(value)
}

export function isoDate (date: Date): string | null {
  const time = date.getTime()
  if (!Number.isFinite(time)) return null
  const iso = date.toISOString()
  return time % 86_400_000 === 0 ? iso.slice(0, 10) : iso
}

export function excelSerialToDate (serial: number, date1904: boolean): Date {
  return new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000))
}

/** Same rule as exceljs: a number format with day/month/year/hour/second letters outside quotes and []. */
export function isDateFormat (numFmt: unknown): boolean {
  if (typeof numFmt !== 'string' || numFmt === '') return false
  const stripped = numFmt.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, '')
  return /[ymdhMsb]+/.test(stripped)
}

function xlsxFailure (err: unknown): unknown {
  if (isAppError(err)) return err
  const message = (err as Error)?.message ?? String(err)
  if (/too many bytes|not enough bytes|size mismatch/i.test(message)) return mapZipError(err)
  return new AppError('PARSE_FAILED', `The XLSX file could not be read: ${message}`, { cause: err })
}
