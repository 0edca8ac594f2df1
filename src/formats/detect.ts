import { Readable, pipeline } from 'node:stream'
import zlib from 'node:zlib'
import iconv from 'iconv-lite'
import { AppError, isAppError } from '../errors.js'
import type { PipelineLimits } from '../config.js'
import { decodeText, detectBom, type DecodeState } from './encoding.js'
import { FORMAT_DESCRIPTORS, formatOfExtension, formatOfMagic, formatOfMediaType } from './catalogue.js'
import { parsers } from './registry.js'
import { ByteSource, isBlankText, limitBytes, withBreaks } from './stream-utils.js'
import type { FileLayout, ParseSettings } from './parse-options.js'
import type { FileFormat, ParseOptions, ParsedRow, TextEncoding } from './types.js'

/**
 * The front of the inventory pipeline: a byte stream in, typed records out.
 *
 *   raw bytes ─ count (FILE_TOO_LARGE) ─ gunzip if 1f 8b ─ count again ─ peek 64 KiB ─ detect format
 *     ├─ xlsx / parquet: the bytes go to the binary parser (both spool to a temp file first)
 *     └─ text: decode (BOM / parse.encoding / UTF-8 / windows-1252) ─ csv | json | ndjson parser
 *
 * Nothing is read before the caller iterates `batches`, except the first 64 KiB used to detect the format.
 */

export interface OpenInventoryOptions {
  fileName?: string
  contentType?: string
  limits: PipelineLimits
  /** how to read the file where detection would guess (docs/formats.md); unset fields are detected */
  parse?: ParseSettings
  /** called once the parser knows the file's layout (sheet read, sheets seen, header) */
  onLayout?: (layout: FileLayout) => void
  /** an explicit format (the data source's configured one) wins over every detection */
  format?: FileFormat
  /** called with each warning as it happens (they are also collected in `warnings`) */
  onWarning?: (message: string) => void
}

export interface OpenedInventory {
  format: FileFormat
  /** the bytes were gzip (detected by magic bytes, whatever the name) */
  compressed: boolean
  /**
   * The text encoding. Final only once `batches` has been read to the end: a file that is ASCII in its
   * first chunks and has a windows-1252 byte later switches from 'utf-8' to 'windows-1252' then.
   * Always 'utf-8' for XLSX (its XML parts must be UTF-8).
   */
  readonly encoding: TextEncoding
  /** the file was not valid UTF-8 and was read as windows-1252 (final once `batches` is read) */
  readonly encodingFallback: boolean
  /** For the person who uploaded the file (encoding guessed, duplicate header renamed, …). Grows while reading `batches`. */
  warnings: string[]
  /**
   * The records, in batches of at most ROW_BATCH (see FormatParser). Iterate once. Throws AppError on
   * whole-file failures (limits, syntax, unsafe XLSX).
   */
  batches: AsyncIterable<ParsedRow[]>
  /** the parser found no text PostgreSQL cannot store in this batch of `batches` (see ParseOptions.onStorableBatch) */
  storable (batch: ParsedRow[]): boolean
  /** bytes read from `input` so far (compressed bytes for gzip) */
  bytesRead (): number
  /** bytes after decompression so far (= bytesRead() when not compressed) */
  uncompressedBytesRead (): number
}

/** How much of the (decompressed) file is looked at to detect the format. */
export const SNIFF_BYTES = 64 * 1024

export async function openInventoryStream (input: Readable, options: OpenInventoryOptions): Promise<OpenedInventory> {
  const { limits } = options
  let rawBytes = 0
  let plainBytes = 0
  const raw = new ByteSource(limitBytes(input, limits.maxFileBytes, n => { rawBytes = n }, 'file'))
  const rawHead = await raw.peek(2) // the gzip magic; the format is sniffed after decompression
  if (rawHead.length === 0) {
    await raw.close()
    throw new AppError('EMPTY_FILE', 'The file is empty (0 bytes).')
  }

  const compressed = rawHead.length >= 2 && rawHead[0] === 0x1f && rawHead[1] === 0x8b
  let plain: ByteSource
  if (compressed) {
    const gunzip = zlib.createGunzip()
    pipeline(Readable.from(raw), gunzip, () => { /* errors surface through the iteration */ })
    plain = new ByteSource(limitBytes(gunzipErrors(gunzip), limits.maxFileBytes, n => { plainBytes = n }, 'decompressed file'))
  } else {
    plain = new ByteSource(countOnly(raw, n => { plainBytes = n }))
  }

  let head: Buffer
  try {
    head = await plain.peek(SNIFF_BYTES)
  } catch (err) {
    await plain.close()
    throw err
  }
  if (head.length === 0) {
    await plain.close()
    throw new AppError('EMPTY_FILE', 'The file is empty once decompressed.')
  }

  let format: FileFormat
  try {
    format = detectFormat({
      head,
      complete: plain.ended,
      fileName: options.fileName,
      contentType: options.contentType,
      format: options.format,
      encoding: options.parse?.encoding,
    })
  } catch (err) {
    await plain.close()
    throw err
  }

  const warnings: string[] = []
  const onWarning = (message: string): void => {
    warnings.push(message)
    options.onWarning?.(message)
  }
  const state: DecodeState = { encoding: 'utf-8', warn: onWarning }
  const parse = options.parse ?? {}
  const storable = new WeakSet<ParsedRow[]>()
  const parseOptions: ParseOptions = {
    limits, delimiter: parse.delimiter, quote: parse.quote, headerRow: parse.headerRow, sheet: parse.sheet, onWarning, onLayout: options.onLayout,
    onStorableBatch: batch => { storable.add(batch) },
  }

  // breaks between input chunks (a file of blank lines yields no batch) and between batches (XLSX rows)
  let batches: AsyncIterable<ParsedRow[]>
  if (format === 'xlsx' || format === 'parquet') {
    batches = withBreaks(parsers[format].parse(Readable.from(plain, { objectMode: false }), parseOptions))
  } else {
    if (plain.ended && isBlankText(headText(head, parse.encoding))) {
      await plain.close()
      throw new AppError('EMPTY_FILE', 'The file contains only whitespace.')
    }
    const text = Readable.from(withBreaks(decodeText(plain, head, state, parse.encoding)))
    batches = withBreaks(parsers[format].parse(text, parseOptions))
  }

  return {
    format,
    compressed,
    get encoding () { return state.encoding },
    get encodingFallback () { return state.fallback === true },
    warnings,
    batches,
    storable: batch => storable.has(batch),
    bytesRead: () => rawBytes,
    uncompressedBytesRead: () => compressed ? plainBytes : rawBytes,
  }
}

async function * countOnly (source: AsyncIterable<Buffer>, onBytes: (total: number) => void): AsyncGenerator<Buffer> {
  let total = 0
  for await (const chunk of source) {
    total += chunk.length
    onBytes(total)
    yield chunk
  }
}

/** A corrupt or truncated gzip stream is a parse failure of the file, not a server error. */
async function * gunzipErrors (gunzip: zlib.Gunzip): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of gunzip) yield chunk as Buffer
  } catch (err) {
    if (isAppError(err)) throw err
    throw new AppError('PARSE_FAILED', `The gzip data is corrupt or truncated: ${(err as Error).message}.`, { cause: err })
  } finally {
    gunzip.destroy()
  }
}

// ---------------------------------------------------------------------------------------------------
// format detection

export interface DetectInput {
  /** the first bytes of the (decompressed) file */
  head: Buffer
  /** `head` is the whole file */
  complete: boolean
  fileName?: string
  contentType?: string
  format?: FileFormat
  /** parse.encoding: the file is text in this encoding (NUL bytes are then UTF-16/32 text, not a binary mark) */
  encoding?: string
}

/**
 * Which parser reads the file. Order: the explicit `format`, then the extension (ignoring .gz), then the
 * content type, then the content itself. The content overrides a declared format only when it clearly
 * contradicts it:
 * - a zip (`PK\x03\x04`) is XLSX whatever its name ("report.csv" that is really a workbook);
 * - legacy .xls (OLE2), PDF, or any NUL byte without a UTF-16 BOM → UNSUPPORTED_FORMAT;
 * - ".xlsx" that is text → the text is sniffed;
 * - JSON vs NDJSON is always decided by content (".json" files holding NDJSON are common);
 * - ".csv"/"text/csv" whose content is unmistakably JSON (starts with `[{`, `{"items": [`, or a first
 *   line that parses as a JSON object) → JSON/NDJSON. Anything else declared CSV stays CSV.
 * A declared JSON/NDJSON file that is not JSON stays JSON and fails with PARSE_FAILED: that message
 * ("not valid JSON") is more useful than a CSV reading of it.
 */
export function detectFormat (input: DetectInput): FileFormat {
  if (input.format !== undefined) return input.format
  const magic = formatOfMagic(input.head)
  if (magic !== undefined) return magic
  const binary = sniffBinary(input.head, input.encoding !== undefined)
  if (binary !== undefined) {
    throw new AppError('UNSUPPORTED_FORMAT', `The file is ${binary}; supported formats are ${SUPPORTED} and zip archives of them.`, {
      details: { detected: binary },
    })
  }
  const text = headText(input.head, input.encoding)
  const content = sniffContent(text, input.complete)
  const declared = formatFromFileName(input.fileName) ?? formatFromContentType(input.contentType)
  if (declared === 'json' || declared === 'ndjson') return content === 'csv' || content === 'either' ? declared : content
  if (declared === 'csv') {
    if (content === 'csv') return 'csv'
    const json = strongJson(text, input.complete)
    return json === undefined ? 'csv' : json === 'either' ? 'ndjson' : json
  }
  return content === 'either' ? 'ndjson' : content
}

/** the file name's extension as a format, `.gz`/`.gzip` ignored; undefined if not one of ours */
export function formatFromFileName (fileName?: string): FileFormat | undefined {
  if (fileName === undefined) return undefined
  let name = fileName.trim().toLowerCase()
  name = name.replace(/\.(gz|gzip)$/, '')
  const ext = /\.([a-z0-9]+)$/.exec(name)?.[1]
  return ext === undefined ? undefined : formatOfExtension(ext)
}

export function formatFromContentType (contentType?: string): FileFormat | undefined {
  if (contentType === undefined) return undefined
  return formatOfMediaType(contentType.split(';')[0].trim().toLowerCase())
}

/** "CSV, JSON, NDJSON, XLSX, Parquet" */
const SUPPORTED = FORMAT_DESCRIPTORS.map(d => d.label).join(', ')

/**
 * A short description if the head is a binary format we do not read (the ones we read are known by
 * their magic bytes: catalogue.ts). `declaredText`: parse.encoding names the file's encoding, so NUL bytes are
 * its characters (UTF-16 without a BOM), not the mark of a binary file.
 */
function sniffBinary (head: Buffer, declaredText = false): string | undefined {
  if (head.length >= 8 && head.readUInt32BE(0) === 0xd0cf11e0 && head.readUInt32BE(4) === 0xa1b11ae1) {
    return 'a legacy Excel (.xls) or password-protected workbook; save it as .xlsx or CSV'
  }
  if (head.subarray(0, 5).toString('latin1') === '%PDF-') return 'a PDF document'
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip inside gzip'
  const bom = detectBom(head)
  if (!declaredText && bom?.encoding !== 'utf-16le' && bom?.encoding !== 'utf-16be' && head.indexOf(0) !== -1) {
    return 'binary (it contains NUL bytes; if it is UTF-16 text, save it with a byte-order mark or as UTF-8)'
  }
  return undefined
}

/** The head as text, good enough for sniffing structure (ASCII punctuation). */
function headText (head: Buffer, encoding?: string): string {
  const bom = detectBom(head)
  if (bom === undefined && (encoding === 'utf-16le' || encoding === 'utf-16be')) return new TextDecoder(encoding).decode(head)
  if (bom?.encoding === 'utf-16le' || bom?.encoding === 'utf-16be') {
    return iconv.decode(head.subarray(0, head.length - (head.length % 2)), bom.encoding)
  }
  return head.toString('latin1', bom?.length ?? 0)
}

/** csv | json | ndjson from the first characters of the text */
export function sniffText (text: string, complete: boolean): 'csv' | 'json' | 'ndjson' {
  const kind = sniffContent(text, complete)
  return kind === 'either' ? 'ndjson' : kind
}

/** 'either': one line holding one JSON object (no "items" array), equally a JSON document and NDJSON */
type ContentKind = 'csv' | 'json' | 'ndjson' | 'either'

function sniffContent (text: string, complete: boolean): ContentKind {
  const trimmed = text.replace(/^[\s\uFEFF]+/, '')
  if (trimmed.startsWith('[')) return 'json'
  if (trimmed.startsWith('{')) return jsonKind(trimmed, complete)
  return 'csv'
}

/**
 * `{` starts both a JSON document and NDJSON. NDJSON when the first line is a complete JSON value on its
 * own and more lines follow; a JSON document when the first line is not valid alone (pretty-printed), is
 * longer than the sniffed head (minified), or is the only line and holds an "items" array; 'either' for a
 * single line holding some other object (the declared format decides; undeclared → NDJSON, one record).
 */
function jsonKind (text: string, complete: boolean): ContentKind {
  if (/^\{\s*"items"\s*:\s*\[/.test(text)) return 'json'
  const nl = text.indexOf('\n')
  if (nl === -1 && !complete) return 'json'
  const firstLine = nl === -1 ? text : text.slice(0, nl)
  let value: unknown
  try {
    value = JSON.parse(firstLine)
  } catch {
    return 'json'
  }
  const onlyLine = nl === -1 || text.slice(nl + 1).trim() === ''
  if (!onlyLine) return 'ndjson'
  if (value !== null && typeof value === 'object' && Array.isArray((value as { items?: unknown }).items)) return 'json'
  return 'either'
}

/** JSON/NDJSON if the content leaves no doubt (used to override a CSV name or content type). */
function strongJson (text: string, complete: boolean): ContentKind | undefined {
  const trimmed = text.replace(/^[\s\uFEFF]+/, '')
  if (/^\[\s*[{\]]/.test(trimmed)) return 'json'
  if (/^\{\s*"items"\s*:\s*\[/.test(trimmed)) return 'json'
  if (trimmed.startsWith('{')) {
    const nl = trimmed.indexOf('\n')
    if (nl === -1 && !complete) return undefined
    try {
      const value = JSON.parse(nl === -1 ? trimmed : trimmed.slice(0, nl)) as unknown
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return jsonKind(trimmed, complete)
    } catch {
      return undefined
    }
  }
  return undefined
}
