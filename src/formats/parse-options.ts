import { AppError } from '../errors.js'

/**
 * How a person tells Ferry to read their files when detection guesses wrong (docs/formats.md):
 * set per inventory source (`config.parse`), per upload (multipart field `parse`) or per inbound
 * delivery (`X-Ferry-Parse` header). Every field is optional; unset means "detect" (the behaviour
 * without options).
 */
export interface ParseSettings {
  /** CSV field delimiter (default: sniffed among , ; tab |) */
  delimiter?: string
  /** CSV quote character; "" reads quotes as ordinary characters (default ") */
  quote?: string
  /** 1-based line (CSV) or row (XLSX) of the header; everything above it is skipped (default: the first non-blank one) */
  headerRow?: number
  /** the decimal mark of numbers written as text (default ".") */
  decimalSeparator?: '.' | ','
  /** the digit-group mark of numbers written as text (default: none allowed) */
  thousandsSeparator?: ',' | '.' | ' ' | '\''
  /** a WHATWG encoding label, e.g. "windows-1252", "utf-16le", "iso-8859-2" (default: BOM, else UTF-8, else windows-1252) */
  encoding?: string
  /** XLSX: a sheet name, a 1-based index, or "*" for every sheet (default: the first visible sheet) */
  sheet?: string | number
}

const KEYS = ['delimiter', 'quote', 'headerRow', 'decimalSeparator', 'thousandsSeparator', 'encoding', 'sheet'] as const

/** The WHATWG name of an encoding label ("latin1" → "windows-1252"), or undefined if no decoder knows it. */
export function encodingName (label: string): string | undefined {
  try {
    return new TextDecoder(label.trim()).encoding
  } catch {
    return undefined
  }
}

const invalid = (field: string, message: string): AppError =>
  new AppError('VALIDATION_FAILED', `${field} ${message}`, { details: { field } })

/**
 * Checks what a schema cannot (a known encoding label, separators that differ) and drops unset
 * fields. `field` names the settings in error messages ("config.parse", "X-Ferry-Parse").
 */
export function checkParseSettings (input: Record<string, unknown> | null | undefined, field: string): ParseSettings | undefined {
  if (input === null || input === undefined) return undefined
  const out: Record<string, unknown> = {}
  for (const key of KEYS) if (input[key] !== null && input[key] !== undefined) out[key] = input[key]
  const settings = out as ParseSettings
  if (settings.encoding !== undefined) {
    const name = encodingName(settings.encoding)
    if (name === undefined) {
      throw invalid(`${field}.encoding`,
        `"${settings.encoding}" is not an encoding label a decoder knows (e.g. "utf-8", "windows-1252", "utf-16le", "iso-8859-2").`)
    }
    settings.encoding = name
  }
  if (settings.decimalSeparator !== undefined && settings.decimalSeparator === settings.thousandsSeparator) {
    throw invalid(`${field}.thousandsSeparator`, 'must differ from the decimal separator.')
  }
  if (settings.delimiter !== undefined && /[\r\n]/.test(settings.delimiter)) throw invalid(`${field}.delimiter`, 'cannot contain a line break.')
  if (settings.quote !== undefined && settings.delimiter !== undefined && settings.quote !== '' && settings.delimiter.includes(settings.quote)) {
    throw invalid(`${field}.quote`, 'must differ from the delimiter.')
  }
  if (typeof settings.sheet === 'string' && settings.sheet.trim() === '') throw invalid(`${field}.sheet`, 'must not be blank.')
  return Object.keys(out).length > 0 ? settings : undefined
}

/**
 * Settings of a single file over the source's: each field the override names wins, `null` clears
 * it back to detection.
 */
export function mergeParseSettings (base: ParseSettings | undefined, override: Record<string, unknown> | undefined, field: string): ParseSettings | undefined {
  if (override === undefined) return base
  return checkParseSettings({ ...base, ...override }, field)
}

/** What a parser saw of a file's layout: the sheet it read and the others, the header it found. */
export interface FileLayout {
  sheet?: string
  sheets?: string[]
  /** the line (CSV) or row (XLSX) the header was read from */
  headerRow?: number
  headers?: string[]
}

const list = (names: string[], max = 20): string =>
  names.slice(0, max).map(n => `"${n}"`).join(', ') + (names.length > max ? `, … (${names.length} in all)` : '')

/** "sheet "Notes" (sheets: "Notes", "Stock"), header on line 3: "a", "b"" — what was read, for a person. */
export function describeLayout (layout: FileLayout, format: string | undefined): string {
  const parts: string[] = []
  if (layout.sheet !== undefined) {
    parts.push(`sheet "${layout.sheet}"${layout.sheets && layout.sheets.length > 1 ? ` (the workbook's sheets: ${list(layout.sheets)})` : ''}`)
  }
  if (layout.headerRow !== undefined) {
    const where = format === 'xlsx' ? 'row' : 'line'
    parts.push(`the header on ${where} ${layout.headerRow}: ${layout.headers && layout.headers.length > 0 ? list(layout.headers) : '(empty)'}`)
  } else if (layout.headers && layout.headers.length > 0) {
    parts.push(`the columns ${list(layout.headers)}`)
  }
  return parts.join('; ')
}

/**
 * NO_ROWS: the file was read but yielded no record. The message names what was read and what else
 * was there (other sheets), so the fix (parse.sheet, parse.headerRow) is obvious.
 */
export function noRowsError (layout: FileLayout, format: string | undefined, reason?: string): AppError {
  const read = describeLayout(layout, format)
  const others = layout.sheets?.filter(s => s !== layout.sheet) ?? []
  const hint = others.length > 0
    ? ` Set the source's parse.sheet to the sheet that holds the data (${list(others)}).`
    : ' If the header is further down, set parse.headerRow.'
  return new AppError('NO_ROWS', `${reason ?? 'The file has no data rows'}${read ? `: read ${read}` : ''}.${hint}`, {
    details: { ...layout },
  })
}
