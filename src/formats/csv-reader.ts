import { AppError } from '../errors.js'

const LF = 10
const CR = 13

// where the reader is inside the current field
const FIELD_START = 0 // nothing of the field read yet
const UNQUOTED = 1
const QUOTED = 2
const QUOTE_IN_QUOTED = 3 // a quote inside a quoted field: the closing one, or the first of `""`

/**
 * A streaming CSV tokenizer: text chunks in, records (arrays of fields, as written) out, each with the
 * line it starts on. Ferry's own rather than csv-parse's because csv-parse, told to accept records whose
 * field count differs from the first record's (`relax_column_count`), still builds a CsvError — stack
 * trace and JSON copies of its state — for each of them: ~25 µs per blank or short line, 40× a good row,
 * so 8 MiB of newlines held the process for minutes (docs/security.md). Here such a record costs what
 * any record costs, and a blank one is only counted.
 *
 * Dialect (RFC 4180, leniently, as Ferry read it with csv-parse's `relax_quotes`):
 * - a record ends at LF, CRLF or CR outside quotes; line endings may be mixed;
 * - a field that starts with `"` is quoted: delimiters and line breaks in it are data, `""` is one quote;
 *   text after its closing quote (`"a"b`) keeps the quotes as written (`"a"b`);
 * - a quote anywhere else is an ordinary character (`5" screen`);
 * - nothing is trimmed.
 * A record longer than `maxRecordChars` (an unterminated quote, typically) fails the file with
 * CELL_TOO_LONG once a field or an input chunk ends past the bound, so memory stays bounded by the
 * bound plus one chunk.
 */
export class CsvReader {
  /** records completed since the last `take()`; blank ones (only delimiters and whitespace) are not kept */
  private records: string[][] = []
  /** the line each of `records` starts on (the first line is 1; quoted line breaks count) */
  private lines: number[] = []
  /** blank records seen so far (the whole file) */
  blankRecords = 0

  private readonly delimiter: number
  /** the quote character's code, or -1 when fields are never quoted (parse.quote: "") */
  private readonly quote: number
  private readonly quoteChar: string
  private state = FIELD_START
  /** the current field's text from earlier chunks */
  private field = ''
  private record: string[] = []
  private recordChars = 0
  private line = 1
  private recordLine = 1
  /** the last character was a CR: a LF right after it completes a CRLF (one line break) */
  private cr = false

  constructor (delimiter: string, private readonly maxRecordChars: number, quote = '"') {
    this.delimiter = delimiter.charCodeAt(0)
    this.quote = quote === '' ? -1 : quote.charCodeAt(0)
    this.quoteChar = quote
  }

  /** Lines read so far (a final line break does not start another line). */
  get lineCount (): number {
    return this.inRecord ? this.line : this.line - 1
  }

  /** Part of a record is held (its end is in a later chunk). */
  get inRecord (): boolean {
    return this.state !== FIELD_START || this.record.length > 0 || this.field !== ''
  }

  /** The records completed so far (and the lines they start on), handed over once. */
  take (): { records: string[][], lines: number[] } {
    const taken = { records: this.records, lines: this.lines }
    this.records = []
    this.lines = []
    return taken
  }

  write (chunk: string): void {
    const d = this.delimiter
    const q = this.quote
    const n = chunk.length
    let state = this.state
    let cr = this.cr
    let start = 0 // the part of the current field not yet copied into `field` starts here
    for (let i = 0; i < n; i++) {
      let c = chunk.charCodeAt(i)
      if (state === UNQUOTED) {
        // the rest of an unquoted field: only a delimiter or a line break ends it, so skip to one without
        // the per-character bookkeeping below (no line break in between, and a quote here is data)
        while (c !== d && c !== LF && c !== CR) {
          if (++i === n) break
          c = chunk.charCodeAt(i)
        }
        if (i === n) break
      }
      let lfOfCrlf = false
      if (c === LF) {
        if (cr) lfOfCrlf = true
        else this.line++
        cr = false
      } else if (c === CR) {
        this.line++
        cr = true
      } else if (cr) {
        cr = false
      }

      if (state === QUOTED) {
        if (c === q) {
          this.field += chunk.slice(start, i)
          state = QUOTE_IN_QUOTED
          start = i + 1
        }
        continue
      }
      if (state === QUOTE_IN_QUOTED) {
        if (c === q) {
          // `""`: this quote is data, the first slice of what follows
          state = QUOTED
          start = i
          continue
        }
        if (c !== d && c !== LF && c !== CR) {
          // text after the closing quote: the field is kept as written, quotes included
          this.field = `${this.quoteChar}${this.field}${this.quoteChar}`
          state = UNQUOTED
          continue
        }
        // the quote closed the field; the delimiter or line break is handled below
      }
      if (c === d) {
        this.endField(this.field + chunk.slice(start, i))
        state = FIELD_START
        start = i + 1
      } else if (c === LF || c === CR) {
        if (lfOfCrlf) {
          // the CR before it ended the record
        } else if (state === FIELD_START && this.record.length === 0) {
          // an empty line: counted, nothing allocated
          this.blankRecords++
          this.recordLine = this.line
        } else {
          this.endField(this.field + chunk.slice(start, i))
          this.endRecord()
          state = FIELD_START
        }
        start = i + 1
      } else if (state === FIELD_START) {
        if (c === q) start = i + 1
        state = c === q ? QUOTED : UNQUOTED
      }
    }
    if (state !== QUOTE_IN_QUOTED) this.field += chunk.slice(start, n)
    this.state = state
    this.cr = cr
    if (this.recordChars + this.field.length > this.maxRecordChars) throw this.tooLong()
  }

  /** The input ended: the last record (without a line break after it) is completed. */
  end (): void {
    if (this.state === QUOTED) {
      throw new AppError('PARSE_FAILED', `The quoted field starting on line ${this.recordLine} is never closed.`, {
        details: { row: this.recordLine, reason: 'quote_not_closed' },
      })
    }
    if (this.inRecord) {
      this.endField(this.field)
      this.endRecord()
      // the last line had no line break after it, and still counts (lineCount)
      this.line++
    }
    this.state = FIELD_START
  }

  private endField (value: string): void {
    this.field = ''
    this.recordChars += value.length
    if (this.recordChars > this.maxRecordChars) throw this.tooLong()
    this.record.push(value)
  }

  private endRecord (): void {
    const record = this.record
    if (isBlankRecord(record)) {
      this.blankRecords++
    } else {
      this.records.push(record)
      this.lines.push(this.recordLine)
    }
    this.record = []
    this.recordChars = 0
    this.recordLine = this.line
  }

  private tooLong (): AppError {
    return new AppError('CELL_TOO_LONG',
      `The record starting on line ${this.recordLine} is too long: a field is longer than allowed, or a quote is never closed.`, {
        details: { row: this.recordLine, limit: this.maxRecordChars },
      })
  }
}

/** Only empty or whitespace fields (`,,`, `  `, `""`): a spacer line, not a row. */
function isBlankRecord (record: string[]): boolean {
  for (let i = 0; i < record.length; i++) {
    const field = record[i]
    if (field.length > 0 && field.trim() !== '') return false
  }
  return true
}
