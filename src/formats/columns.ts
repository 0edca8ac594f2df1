import { AppError } from '../errors.js'
import type { PipelineLimits } from '../config.js'

/**
 * Keys that are never copied into a record: on a plain object `__proto__` would replace the prototype,
 * and `constructor`/`prototype` poison objects when a record is later merged into another one.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** Reports each distinct warning once. */
export function onceWarner (onWarning?: (message: string) => void): (message: string) => void {
  const seen = new Set<string>()
  return (message: string) => {
    if (onWarning === undefined || seen.has(message)) return
    seen.add(message)
    onWarning(message)
  }
}

/**
 * Turns a header row into record keys, one per column (`undefined` = the column is not copied).
 * Names are kept as written, trimmed; mapping them to canonical fields is the pipeline's job. Then:
 * - empty names at the end are dropped (spreadsheet exports often add empty trailing columns);
 * - an empty name in the middle becomes `column_<label>` (label: 3 for CSV, C for XLSX);
 * - `__proto__` / `constructor` / `prototype` columns are dropped, with a warning;
 * - a repeated name gets a suffix (`price`, `price_2`), with a warning, so no value is silently lost.
 */
export function headerKeys (
  names: readonly string[],
  label: (index: number) => string,
  limits: PipelineLimits,
  warn: (message: string) => void,
): Array<string | undefined> {
  let width = names.length
  while (width > 0 && names[width - 1].trim() === '') width--
  if (width > limits.maxColumns) {
    throw new AppError('TOO_MANY_COLUMNS', `The header has ${width} columns; the limit is ${limits.maxColumns}.`, {
      details: { columns: width, limit: limits.maxColumns },
    })
  }
  const keys: Array<string | undefined> = []
  const used = new Set<string>()
  for (let i = 0; i < width; i++) {
    let name = names[i].trim()
    if (name.length > limits.maxCellChars) {
      throw new AppError('CELL_TOO_LONG', `Header column ${label(i)} is ${name.length} characters long; the limit is ${limits.maxCellChars}.`, {
        details: { column: label(i), length: name.length, limit: limits.maxCellChars },
      })
    }
    if (name === '') name = `column_${label(i)}`
    if (FORBIDDEN_KEYS.has(name)) {
      warn(`The column "${name}" was ignored: that name is reserved.`)
      keys.push(undefined)
      continue
    }
    if (used.has(name)) {
      let n = 2
      while (used.has(`${name}_${n}`)) n++
      warn(`The header has the column "${name}" more than once; the repeat in column ${label(i)} was read as "${name}_${n}".`)
      name = `${name}_${n}`
    }
    used.add(name)
    keys.push(name)
  }
  return keys
}

/** A1-style column letters: 0 → A, 25 → Z, 26 → AA. */
export function columnLetters (index: number): string {
  let n = index + 1
  let s = ''
  while (n > 0) {
    const r = (n - 1) % 26
    s = String.fromCharCode(65 + r) + s
    n = Math.floor((n - 1) / 26)
  }
  return s
}

/** `maxRows` counts every record after the header, blank ones included (docs/security.md). */
export function tooManyRows (limits: PipelineLimits, row: number | undefined): AppError {
  return new AppError('TOO_MANY_ROWS', `The file has more than ${limits.maxRows} rows (blank rows count toward the limit).`, {
    details: { limit: limits.maxRows, ...(row === undefined ? {} : { row }) },
  })
}

export function cellTooLong (limits: PipelineLimits, row: number, length: number, where: string): AppError {
  return new AppError('CELL_TOO_LONG', `${where} at row ${row} is ${length} characters long; the limit is ${limits.maxCellChars}.`, {
    details: { row, length, limit: limits.maxCellChars },
  })
}
