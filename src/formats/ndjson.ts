import type { Readable } from 'node:stream'
import { AppError } from '../errors.js'
import type { PipelineLimits } from '../config.js'
import { FORBIDDEN_KEYS, onceWarner, tooManyRows } from './columns.js'
import { inBatches, textChunks } from './stream-utils.js'
import type { FormatParser, ParseOptions, ParsedRow } from './types.js'

/**
 * Newline-delimited JSON (NDJSON / JSON Lines): one object per line.
 * - Lines are split as the text streams in; a line longer than maxLineBytes (UTF-8 bytes) fails the file
 *   with LINE_TOO_LONG as soon as it is known to be too long, so one endless line cannot fill memory.
 * - Blank lines are skipped (they still count for line numbers and toward maxRows); `row` = the line number.
 * - A line that is not JSON, or not a JSON object, is a row problem; the other lines still count.
 * - Each line is `JSON.parse`d (bounded by the line limit, and V8's parser is not recursive), then walked
 *   once without recursion to enforce maxJsonDepth (JSON_TOO_DEEP), maxCellChars (CELL_TOO_LONG) and
 *   maxColumns (TOO_MANY_COLUMNS), and to drop `__proto__` / `constructor` / `prototype` keys.
 */
export const ndjsonParser: FormatParser = {
  format: 'ndjson',
  parse: parseNdjson,
}

async function * parseNdjson (input: Readable, options: ParseOptions): AsyncGenerator<ParsedRow[]> {
  const { limits } = options
  const warn = onceWarner(options.onWarning)
  let line = 0
  let rows = 0
  let sawContent = false
  let pending: string[] = []
  let pendingChars = 0
  let first = true

  const handle = (text: string): ParsedRow | undefined => {
    line++
    if (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1)
    checkLineLength(text, line, limits)
    // blank lines count toward the row limit too: a file of nothing but line breaks is bounded like any other
    if (++rows > limits.maxRows) throw tooManyRows(limits, line)
    if (isBlankLine(text)) return undefined
    sawContent = true
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      return { row: line, error: `Line ${line} is not valid JSON: ${(err as Error).message}` }
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
      return { row: line, error: `Line ${line} is ${kind}, not a JSON object.` }
    }
    return { row: line, values: sanitizeJson(value as Record<string, unknown>, line, limits, warn) }
  }

  for await (let chunk of textChunks(input)) {
    if (first) {
      first = false
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    const out: ParsedRow[] = []
    let start = 0
    for (;;) {
      const nl = chunk.indexOf('\n', start)
      if (nl === -1) break
      let text = chunk.slice(start, nl)
      if (pending.length > 0) {
        pending.push(text)
        text = pending.join('')
        pending = []
        pendingChars = 0
      }
      const row = handle(text)
      if (row !== undefined) out.push(row)
      start = nl + 1
    }
    if (start < chunk.length) {
      const rest = chunk.slice(start)
      pendingChars += rest.length
      // characters are a lower bound of UTF-8 bytes: past the limit in characters, the line is too long
      if (pendingChars > limits.maxLineBytes) throw lineTooLong(line + 1, limits)
      pending.push(rest)
    }
    yield * inBatches(out)
  }
  if (pending.length > 0) {
    const row = handle(pending.join(''))
    if (row !== undefined) yield [row]
  }
  if (!sawContent) throw new AppError('EMPTY_FILE', 'The NDJSON file has no lines.')
}

function isBlankLine (text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c !== 32 && c !== 9 && c !== 13 && c !== 0xfeff) return false
  }
  return true
}

function checkLineLength (text: string, line: number, limits: PipelineLimits): void {
  if (text.length > limits.maxLineBytes) throw lineTooLong(line, limits)
  if (text.length * 3 > limits.maxLineBytes && Buffer.byteLength(text, 'utf8') > limits.maxLineBytes) throw lineTooLong(line, limits)
}

function lineTooLong (line: number, limits: PipelineLimits): AppError {
  return new AppError('LINE_TOO_LONG', `Line ${line} is longer than ${limits.maxLineBytes} bytes.`, {
    details: { row: line, limit: limits.maxLineBytes },
  })
}

/**
 * Checks and cleans a parsed record in place, iteratively (a record nested 10 000 deep cannot overflow
 * the stack): depth, string length, top-level key count, reserved keys removed.
 */
export function sanitizeJson (
  record: Record<string, unknown>,
  row: number,
  limits: PipelineLimits,
  warn: (message: string) => void,
): Record<string, unknown> {
  const topKeys = Object.keys(record).length
  if (topKeys > limits.maxColumns) {
    throw new AppError('TOO_MANY_COLUMNS', `Line ${row} has ${topKeys} keys; the limit is ${limits.maxColumns}.`, {
      details: { row, columns: topKeys, limit: limits.maxColumns },
    })
  }
  const stack: Array<[unknown, number]> = [[record, 1]]
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number]
    if (depth > limits.maxJsonDepth) {
      throw new AppError('JSON_TOO_DEEP', `Line ${row} is nested more than ${limits.maxJsonDepth} levels deep.`, {
        details: { row, limit: limits.maxJsonDepth },
      })
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) check(value[i], depth, row, limits, stack)
      continue
    }
    const object = value as Record<string, unknown>
    for (const key of Object.keys(object)) {
      if (FORBIDDEN_KEYS.has(key)) {
        // JSON.parse made it an own data property; delete removes exactly that property
        delete object[key]
        warn(`The key "${key}" was ignored wherever it appeared: that name is reserved.`)
        continue
      }
      if (key.length > limits.maxCellChars) throw cellTooLongAt(row, limits)
      check(object[key], depth, row, limits, stack)
    }
  }
  return record
}

function check (value: unknown, depth: number, row: number, limits: PipelineLimits, stack: Array<[unknown, number]>): void {
  if (typeof value === 'string') {
    if (value.length > limits.maxCellChars) throw cellTooLongAt(row, limits)
  } else if (value !== null && typeof value === 'object') {
    stack.push([value, depth + 1])
  }
}

function cellTooLongAt (row: number, limits: PipelineLimits): AppError {
  return new AppError('CELL_TOO_LONG', `A value on line ${row} is longer than ${limits.maxCellChars} characters.`, {
    details: { row, limit: limits.maxCellChars },
  })
}
