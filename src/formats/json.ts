import type { Readable } from 'node:stream'
import { jsonParser } from 'stream-json/core/parser.js'
import { AppError } from '../errors.js'
import type { PipelineLimits } from '../config.js'
import { FORBIDDEN_KEYS, onceWarner, tooManyRows } from './columns.js'
import { inBatches, isBlankText, textChunks } from './stream-utils.js'
import type { FormatParser, ParseOptions, ParsedRow } from './types.js'

/**
 * A JSON document: an array of objects, or an object whose `items` key holds that array (its other
 * keys are skipped). Streamed token by token with stream-json's tokenizer; the records are assembled
 * here rather than by stream-json's Assembler so that every limit is enforced *while* reading:
 * - nesting deeper than maxJsonDepth (counted from the document root) → JSON_TOO_DEEP;
 * - a string or key longer than maxCellChars → CELL_TOO_LONG (checked per chunk, before it is kept);
 * - a record with more than maxColumns keys → TOO_MANY_COLUMNS;
 * - a record larger than maxLineBytes characters (the same bound as an NDJSON line) → LINE_TOO_LONG;
 * - more than maxRows records → TOO_MANY_ROWS.
 * Keys `__proto__`, `constructor`, `prototype` are dropped at every level (with a warning).
 * An element that is not an object is a row problem; `row` = element index + 1.
 */
export const jsonArrayParser: FormatParser = {
  format: 'json',
  parse: parseJson,
}

/** stream-chain's "no output" marker (a registered symbol, so it needs no import of stream-chain). */
const NONE = Symbol.for('object-stream.none')

type Token = { name: string, value?: unknown }
type Tokenizer = (chunk: string | symbol) => unknown

type Role =
  | 'rootObject' // the document is an object: look for "items"
  | 'records' // the array of records
  | 'record' // a record being assembled
  | 'value' // an object/array inside a record
  | 'skipElement' // an element of the records array that is not an object (an array)
  | 'skip' // anything else: read (depth-checked) but not kept

interface Frame {
  role: Role
  isObject: boolean
  container?: Record<string, unknown> | unknown[]
  key?: string
  /** the value of the current key is not kept (forbidden key) */
  dropValue?: boolean
  keys?: number
}

async function * parseJson (input: Readable, options: ParseOptions): AsyncGenerator<ParsedRow[]> {
  const assembler = new RecordAssembler(options.limits, onceWarner(options.onWarning))
  // the tokenizer refuses nesting past maxDepth by itself (stream-json ≥ 3.9), before the assembler sees it:
  // at our limit it answers as the assembler would (JSON_TOO_DEEP)
  const tokenize = jsonParser({ packValues: false, streamValues: true, maxDepth: options.limits.maxJsonDepth }) as unknown as Tokenizer
  let sawText = false
  let first = true
  for await (let chunk of textChunks(input)) {
    if (first) {
      first = false
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1) // the tokenizer rejects a BOM
    }
    if (!sawText) sawText = !isBlankText(chunk)
    assembler.feed(run(tokenize, chunk, assembler))
    yield * inBatches(assembler.take())
  }
  if (!sawText) throw new AppError('EMPTY_FILE', 'The JSON file is empty.')
  assembler.feed(run(tokenize, NONE, assembler))
  assembler.finish()
  yield * inBatches(assembler.take())
}

function run (tokenize: Tokenizer, chunk: string | symbol, assembler: RecordAssembler): Token[] {
  let result: unknown
  try {
    result = tokenize(chunk)
  } catch (err) {
    if (err instanceof RangeError && /nesting depth/.test(err.message)) assembler.refuseDepth()
    throw new AppError('PARSE_FAILED', `The file is not valid JSON${assembler.where()}: ${(err as Error).message}.`, {
      details: { element: assembler.elementIndex, reason: 'syntax' },
      cause: err,
    })
  }
  if (result === NONE || result === undefined || result === null) return []
  return (result as { values: Token[] }).values
}

class RecordAssembler {
  elementIndex = 0
  private out: ParsedRow[] = []
  private readonly stack: Frame[] = []
  private rows = 0
  private recordChars = 0
  private inRecord = false
  private itemsSeen = false
  private rootKind: 'array' | 'object' | undefined
  private text: 'key' | 'string' | 'number' | undefined
  private textValue = ''
  private textKept = false

  constructor (private readonly limits: PipelineLimits, private readonly warn: (message: string) => void) {}

  /** the rows completed since the last call */
  take (): ParsedRow[] {
    const rows = this.out
    this.out = []
    return rows
  }

  where (): string {
    return this.elementIndex > 0 ? ` near element ${this.elementIndex}` : ''
  }

  feed (tokens: Token[]): void {
    for (let i = 0; i < tokens.length; i++) this.token(tokens[i])
  }

  finish (): void {
    if (this.rootKind === 'object' && !this.itemsSeen) {
      throw new AppError('PARSE_FAILED', 'The JSON object has no "items" array: expected an array of objects, or { "items": [ … ] }.', {
        details: { reason: 'no_items' },
      })
    }
  }

  private token (token: Token): void {
    if (this.inRecord && ++this.recordChars > this.limits.maxLineBytes) this.recordTooLarge()
    switch (token.name) {
      case 'startObject':
      case 'startArray':
        this.open(token.name === 'startObject')
        return
      case 'endObject':
      case 'endArray':
        this.close()
        return
      case 'startKey':
        this.startText('key')
        return
      case 'startString':
        this.startText('string')
        return
      case 'startNumber':
        this.startText('number')
        return
      case 'stringChunk':
      case 'numberChunk':
        this.chunk(token.value as string)
        return
      case 'endKey':
        this.endKey()
        return
      case 'endString':
        this.scalar(this.textKept ? this.textValue : undefined)
        this.text = undefined
        return
      case 'endNumber':
        this.scalar(this.textKept ? Number(this.textValue) : undefined)
        this.text = undefined
        return
      case 'trueValue':
        this.scalar(true)
        return
      case 'falseValue':
        this.scalar(false)
        return
      case 'nullValue':
        this.scalar(null)
        return
      default:
        // whitespace and other tokens carry no data
    }
  }

  private top (): Frame | undefined {
    return this.stack[this.stack.length - 1]
  }

  /** whether the value about to start is kept (assembled into a record) */
  private keeps (): boolean {
    const top = this.top()
    if (top === undefined) return false
    if (top.role === 'record' || top.role === 'value') return !(top.isObject && top.dropValue === true)
    return false
  }

  private startText (kind: 'key' | 'string' | 'number'): void {
    this.text = kind
    this.textValue = ''
    const top = this.top()
    this.textKept = kind === 'key'
      ? top !== undefined && (top.role === 'record' || top.role === 'value' || top.role === 'rootObject')
      : this.keeps()
  }

  private chunk (value: string): void {
    if (this.inRecord) {
      this.recordChars += value.length
      if (this.recordChars > this.limits.maxLineBytes) this.recordTooLarge()
    }
    if (!this.textKept) return
    this.textValue += value
    if (this.textValue.length > this.limits.maxCellChars) {
      const what = this.text === 'key' ? 'A key' : this.text === 'number' ? 'A number' : 'A string'
      throw new AppError('CELL_TOO_LONG', `${what} in element ${this.elementIndex} is longer than ${this.limits.maxCellChars} characters.`, {
        details: { row: this.elementIndex, limit: this.limits.maxCellChars },
      })
    }
  }

  private endKey (): void {
    const top = this.top() as Frame
    this.text = undefined
    const key = this.textKept ? this.textValue : ''
    top.key = key
    top.dropValue = false
    if (top.role === 'record' || top.role === 'value') {
      if (FORBIDDEN_KEYS.has(key)) {
        top.dropValue = true
        this.warn(`The key "${key}" was ignored wherever it appeared: that name is reserved.`)
        return
      }
      if (top.role === 'record') {
        top.keys = (top.keys ?? 0) + 1
        if (top.keys > this.limits.maxColumns) {
          throw new AppError('TOO_MANY_COLUMNS', `Element ${this.elementIndex} has more than ${this.limits.maxColumns} keys.`, {
            details: { row: this.elementIndex, limit: this.limits.maxColumns },
          })
        }
      }
    }
  }

  refuseDepth (): never {
    throw new AppError('JSON_TOO_DEEP', `The JSON is nested more than ${this.limits.maxJsonDepth} levels deep${this.where()}.`, {
      details: { limit: this.limits.maxJsonDepth, row: this.elementIndex },
    })
  }

  private open (isObject: boolean): void {
    if (this.stack.length + 1 > this.limits.maxJsonDepth) this.refuseDepth()
    const parent = this.top()
    let frame: Frame
    if (parent === undefined) {
      this.rootKind = isObject ? 'object' : 'array'
      frame = { role: isObject ? 'rootObject' : 'records', isObject }
    } else {
      switch (parent.role) {
        case 'rootObject':
          if (parent.key === 'items' && !this.itemsSeen) {
            if (isObject) this.itemsNotArray()
            this.itemsSeen = true
            frame = { role: 'records', isObject }
          } else {
            frame = { role: 'skip', isObject }
          }
          break
        case 'records':
          this.startElement()
          frame = isObject ? { role: 'record', isObject, container: {}, keys: 0 } : { role: 'skipElement', isObject }
          break
        case 'record':
        case 'value':
          frame = this.keeps() ? { role: 'value', isObject, container: isObject ? {} : [] } : { role: 'skip', isObject }
          break
        default:
          frame = { role: 'skip', isObject }
      }
    }
    this.stack.push(frame)
  }

  private close (): void {
    const frame = this.stack.pop() as Frame
    switch (frame.role) {
      case 'record':
        this.inRecord = false
        this.out.push({ row: this.elementIndex, values: frame.container as Record<string, unknown> })
        return
      case 'skipElement':
        this.inRecord = false
        this.out.push({ row: this.elementIndex, error: `Element ${this.elementIndex} is an array, not an object.` })
        return
      case 'value':
        this.place(frame.container)
        return
      default:
    }
  }

  private scalar (value: unknown): void {
    const top = this.top()
    if (top === undefined) {
      throw new AppError('PARSE_FAILED', 'The JSON document is a single value: expected an array of objects, or { "items": [ … ] }.', {
        details: { reason: 'scalar_root' },
      })
    }
    switch (top.role) {
      case 'rootObject':
        if (top.key === 'items' && !this.itemsSeen) this.itemsNotArray()
        return
      case 'records': {
        this.startElement()
        this.inRecord = false
        const kind = value === null ? 'null' : typeof value
        this.out.push({ row: this.elementIndex, error: `Element ${this.elementIndex} is ${kind === 'object' ? 'an object' : `a ${kind}`}, not an object.` })
        return
      }
      case 'record':
      case 'value':
        if (this.keeps()) this.place(value)
        return
      default:
    }
  }

  private place (value: unknown): void {
    const top = this.top() as Frame
    if (top.isObject) {
      // the key is never a forbidden one here (those values are dropped), so this cannot set a prototype
      (top.container as Record<string, unknown>)[top.key as string] = value
    } else {
      (top.container as unknown[]).push(value)
    }
  }

  private startElement (): void {
    this.elementIndex++
    if (++this.rows > this.limits.maxRows) throw tooManyRows(this.limits, this.elementIndex)
    this.inRecord = true
    this.recordChars = 0
  }

  private itemsNotArray (): never {
    throw new AppError('PARSE_FAILED', 'The "items" key of the JSON object must hold an array of objects.', {
      details: { reason: 'items_not_array' },
    })
  }

  private recordTooLarge (): never {
    throw new AppError('LINE_TOO_LONG', `Element ${this.elementIndex} is larger than ${this.limits.maxLineBytes} characters.`, {
      details: { row: this.elementIndex, limit: this.limits.maxLineBytes },
    })
  }
}
