import { isUtf8 } from 'node:buffer'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import yauzl from 'yauzl'
import type { Entry, ZipFile } from 'yauzl'
import { AppError, isAppError } from '../errors.js'
import type { PipelineLimits } from '../config.js'
import { incompleteUtf8Tail } from './encoding.js'
import { toBuffer } from './stream-utils.js'

/**
 * Everything between an uploaded .xlsx and exceljs. An xlsx is a zip of XML parts, and zip readers
 * trust what the archive says about itself, so the file is checked before anything is inflated:
 *
 * 1. The upload is spooled to a private temp file (the zip central directory is at the end, and reading
 *    it needs random access). Deleted in `close()`.
 * 2. The central directory is read with yauzl, nothing inflated: entry count (checked from the
 *    end-of-central-directory record, before the entries are even listed), sum of declared uncompressed
 *    sizes, per-entry and whole-file compression ratio, names with `..` / absolute / backslash / NUL,
 *    duplicate names, encryption, compression methods other than stored/deflate → XLSX_UNSAFE.
 * 3. Every XML part is inflated up to its prolog only (at most 64 KiB): a DOCTYPE or ENTITY declaration,
 *    an encoding other than UTF-8, or a prolog that does not end within 64 KiB → XLSX_UNSAFE.
 * 4. exceljs never reads the upload itself. It reads a *rebuilt* archive streamed from here: only the
 *    parts it needs (workbook, its relationships, shared strings, styles, the one chosen sheet), stored
 *    (not compressed), each part inflated by yauzl, which fails the moment an entry inflates to more
 *    bytes than its header declared. So the limits checked in step 2 hold even against an archive whose
 *    headers lie, and local headers that disagree with the central directory (zip "smuggling") are never
 *    seen by exceljs' streaming unzipper. The parts are also cut at UTF-8 character boundaries and
 *    checked to be valid UTF-8: exceljs decodes every chunk on its own, which would otherwise turn a
 *    character split across two chunks into U+FFFD.
 *
 * The ratio checks apply to entries of at least 1 MiB: tiny parts have meaningless ratios, and what
 * makes a bomb dangerous is the inflated size, which is capped separately.
 */

const PROLOG_SCAN_BYTES = 64 * 1024
const RATIO_FLOOR_BYTES = 1024 * 1024
/** workbook.xml and its .rels are read whole to list the sheets; they are small in any real workbook */
const MAX_WORKBOOK_PART_BYTES = 16 * 1024 * 1024
const ZIP32_MAX = 0xffffffff

export interface XlsxSheet {
  name: string
  /** zip path of the worksheet part, e.g. xl/worksheets/sheet1.xml */
  path: string
  hidden: boolean
}

export interface GuardedXlsx {
  /** the worksheets in workbook order (chart sheets excluded) */
  sheets: XlsxSheet[]
  /** A stored zip with only the parts exceljs needs to read `sheet`. Read it once. */
  workbookFor (sheet: XlsxSheet): Readable
  close (): Promise<void>
}

export interface SpooledFile {
  path: string
  bytes: number
  remove (): Promise<void>
}

/** Writes the stream to a new private temp file, refusing more than `maxBytes` (FILE_TOO_LARGE). */
export async function spoolToTempFile (input: AsyncIterable<unknown>, maxBytes: number, kind: 'xlsx' | 'zip' | 'parquet' = 'xlsx'): Promise<SpooledFile> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `ferry-${kind}-`))
  const file = path.join(dir, `upload.${kind}`)
  const remove = async (): Promise<void> => { await fs.rm(dir, { recursive: true, force: true }) }
  let bytes = 0
  try {
    const handle = await fs.open(file, 'wx', 0o600)
    try {
      for await (const chunk of input) {
        const buf = toBuffer(chunk as Buffer)
        bytes += buf.length
        if (bytes > maxBytes) {
          throw new AppError('FILE_TOO_LARGE', `The file exceeds the limit of ${maxBytes} bytes.`, { details: { limit: maxBytes } })
        }
        await handle.write(buf)
      }
    } finally {
      await handle.close()
    }
  } catch (err) {
    await remove()
    throw err
  }
  return { path: file, bytes, remove }
}

const unsafe = (message: string, details: Record<string, unknown> = {}): AppError =>
  new AppError('XLSX_UNSAFE', message, { details })

/** Which archive the zip checks are guarding: messages and the error code name it. */
export interface ZipKind {
  label: string
  unsafe: (message: string, details?: Record<string, unknown>) => AppError
}

const XLSX_KIND: ZipKind = { label: 'XLSX archive', unsafe }

const notAWorkbook = (message: string): AppError => new AppError('UNSUPPORTED_FORMAT', message, { details: { format: 'zip' } })

/** Opens and checks the spooled xlsx (steps 2 and 3 above). The caller must `close()` it. */
export async function guardXlsx (file: string, fileBytes: number, limits: PipelineLimits): Promise<GuardedXlsx> {
  let zip: ZipFile
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false })
  } catch (err) {
    throw new AppError('PARSE_FAILED', `The file is not a readable XLSX (zip) file: ${(err as Error).message}.`, { cause: err })
  }
  try {
    const entries = await checkCentralDirectory(zip, fileBytes, limits)
    for (const [name, entry] of entries) {
      if (/\.(xml|rels|vml)$/i.test(name)) await checkXmlPart(zip, entry, name)
    }
    const workbook = entries.get('xl/workbook.xml')
    if (workbook === undefined) throw notAWorkbook('The file is a zip archive but not an Excel workbook (no xl/workbook.xml).')
    const rels = entries.get('xl/_rels/workbook.xml.rels')
    const workbookXml = await readSmallPart(zip, workbook, 'xl/workbook.xml')
    const relsXml = rels === undefined ? '' : await readSmallPart(zip, rels, 'xl/_rels/workbook.xml.rels')
    const sheets = listSheets(workbookXml, relsXml).filter(sheet => entries.has(sheet.path) || findEntry(entries, sheet.path) !== undefined)
    const guarded: GuardedXlsx = {
      sheets,
      workbookFor: (sheet: XlsxSheet) => Readable.from(rebuildWorkbook(zip, entries, sheet)),
      close: async () => { zip.close() },
    }
    return guarded
  } catch (err) {
    zip.close()
    throw mapZipError(err)
  }
}

export function entryName (entry: Entry): string {
  const raw = entry.fileNameRaw
  return (entry.generalPurposeBitFlag & 0x800) !== 0 ? raw.toString('utf8') : raw.toString('latin1')
}

export async function checkCentralDirectory (zip: ZipFile, fileBytes: number, limits: PipelineLimits, kind: ZipKind = XLSX_KIND): Promise<Map<string, Entry>> {
  if (zip.entryCount > limits.xlsxMaxEntries) {
    throw kind.unsafe(`The ${kind.label} has ${zip.entryCount} entries; the limit is ${limits.xlsxMaxEntries}.`, {
      check: 'entries', entries: zip.entryCount, limit: limits.xlsxMaxEntries,
    })
  }
  const entries = new Map<string, Entry>()
  const lowerNames = new Set<string>()
  let total = 0
  let count = 0
  for await (const entry of zip.eachEntry()) {
    if (++count > limits.xlsxMaxEntries) {
      throw kind.unsafe(`The ${kind.label} has more than ${limits.xlsxMaxEntries} entries.`, { check: 'entries', limit: limits.xlsxMaxEntries })
    }
    const name = entryName(entry)
    const problem = unsafeName(name)
    if (problem !== undefined) {
      throw kind.unsafe(`The ${kind.label} has an entry with ${problem}: "${name.slice(0, 200)}".`, { check: 'path', entry: name.slice(0, 200) })
    }
    if (lowerNames.has(name.toLowerCase())) throw kind.unsafe(`The ${kind.label} has the entry "${name}" twice.`, { check: 'duplicate', entry: name })
    lowerNames.add(name.toLowerCase())
    if ((entry.generalPurposeBitFlag & 0x1) !== 0) throw kind.unsafe(`The ${kind.label} entry "${name}" is encrypted.`, { check: 'encrypted', entry: name })
    if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
      throw kind.unsafe(`The ${kind.label} entry "${name}" uses compression method ${entry.compressionMethod}; only stored and deflate are read.`, {
        check: 'method', entry: name,
      })
    }
    total += entry.uncompressedSize
    if (total > limits.xlsxMaxUncompressedBytes) {
      throw kind.unsafe(`The ${kind.label} inflates to more than ${limits.xlsxMaxUncompressedBytes} bytes.`, {
        check: 'uncompressed_size', limit: limits.xlsxMaxUncompressedBytes,
      })
    }
    if (entry.uncompressedSize >= RATIO_FLOOR_BYTES && entry.uncompressedSize > entry.compressedSize * limits.xlsxMaxCompressionRatio) {
      throw kind.unsafe(`The ${kind.label} entry "${name}" is compressed more than ${limits.xlsxMaxCompressionRatio}:1 ` +
        `(${entry.compressedSize} → ${entry.uncompressedSize} bytes).`, {
        check: 'compression_ratio', entry: name, limit: limits.xlsxMaxCompressionRatio,
      })
    }
    if (entry.uncompressedSize > ZIP32_MAX) throw kind.unsafe(`The ${kind.label} entry "${name}" is larger than 4 GiB.`, { check: 'uncompressed_size' })
    if (!name.endsWith('/')) entries.set(name, entry)
  }
  if (total >= RATIO_FLOOR_BYTES && total > Math.max(fileBytes, 1) * limits.xlsxMaxCompressionRatio) {
    throw kind.unsafe(`The ${kind.label} is compressed more than ${limits.xlsxMaxCompressionRatio}:1 overall.`, {
      check: 'compression_ratio', limit: limits.xlsxMaxCompressionRatio,
    })
  }
  return entries
}

export function unsafeName (name: string): string | undefined {
  if (name.includes('\u0000')) return 'a NUL character in its name'
  if (name.includes('\\')) return 'a backslash in its name'
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) return 'an absolute path'
  if (name.split('/').includes('..')) return 'a ".." path'
  return undefined
}

function findEntry (entries: Map<string, Entry>, name: string): Entry | undefined {
  const exact = entries.get(name)
  if (exact !== undefined) return exact
  const lower = name.toLowerCase()
  for (const [key, entry] of entries) if (key.toLowerCase() === lower) return entry
  return undefined
}

async function openEntry (zip: ZipFile, entry: Entry): Promise<Readable> {
  return await zip.openReadStreamPromise(entry)
}

/** Inflates at most the first 64 KiB of an XML part and checks its prolog. */
async function checkXmlPart (zip: ZipFile, entry: Entry, name: string): Promise<void> {
  if (entry.uncompressedSize === 0) return
  const stream = await openEntry(zip, entry)
  const chunks: Buffer[] = []
  let length = 0
  let complete = true
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer)
      length += (chunk as Buffer).length
      if (length >= PROLOG_SCAN_BYTES) {
        complete = false
        break
      }
    }
  } finally {
    stream.destroy()
  }
  checkXmlProlog(Buffer.concat(chunks).subarray(0, PROLOG_SCAN_BYTES), complete && length < PROLOG_SCAN_BYTES, name)
}

/**
 * Throws XLSX_UNSAFE unless the part starts with an XML prolog that has no DOCTYPE (hence no ENTITY
 * either: entities can only be declared inside one), declares no encoding but UTF-8, and ends (at the
 * root element's start tag) within the scanned prefix. Exported for tests.
 */
export function checkXmlProlog (prefix: Buffer, complete: boolean, name: string): void {
  let start = 0
  if (prefix[0] === 0xef && prefix[1] === 0xbb && prefix[2] === 0xbf) start = 3
  else if ((prefix[0] === 0xff && prefix[1] === 0xfe) || (prefix[0] === 0xfe && prefix[1] === 0xff)) {
    throw unsafe(`The XLSX part "${name}" is UTF-16; only UTF-8 XML parts are read.`, { check: 'xml_encoding', entry: name })
  }
  if (prefix.indexOf(0) !== -1) throw unsafe(`The XLSX part "${name}" is not UTF-8 text.`, { check: 'xml_encoding', entry: name })
  const text = prefix.toString('latin1', start)
  // belt and braces: wherever they are in the prefix (a DOCTYPE after the root element is malformed anyway)
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) {
    throw unsafe(`The XLSX part "${name}" contains a DOCTYPE or ENTITY declaration.`, { check: 'doctype', entry: name })
  }
  let i = 0
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++
    if (i >= text.length) {
      if (complete) return // empty or whitespace-only part: nothing to expand
      break
    }
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2)
      if (end === -1) break
      const pi = text.slice(i, end)
      const encoding = /^<\?xml\s[^]*?encoding\s*=\s*["']([^"']*)["']/.exec(pi)?.[1]
      if (encoding !== undefined && !/^(utf-?8|us-ascii)$/i.test(encoding.trim())) {
        throw unsafe(`The XLSX part "${name}" declares the encoding "${encoding}"; only UTF-8 XML parts are read.`, { check: 'xml_encoding', entry: name })
      }
      i = end + 2
      continue
    }
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4)
      if (end === -1) break
      i = end + 3
      continue
    }
    if (text.startsWith('<!', i)) {
      throw unsafe(`The XLSX part "${name}" contains a markup declaration before its root element.`, { check: 'doctype', entry: name })
    }
    return // the root element (or non-XML content, which the XML parser rejects): no DOCTYPE can follow
  }
  throw unsafe(`The XLSX part "${name}" has an XML prolog longer than ${PROLOG_SCAN_BYTES} bytes.`, { check: 'xml_prolog', entry: name })
}

async function readSmallPart (zip: ZipFile, entry: Entry, name: string): Promise<string> {
  if (entry.uncompressedSize > MAX_WORKBOOK_PART_BYTES) {
    throw unsafe(`The XLSX part "${name}" is larger than ${MAX_WORKBOOK_PART_BYTES} bytes.`, { check: 'part_size', entry: name })
  }
  const stream = await openEntry(zip, entry)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

// ---------------------------------------------------------------------------------------------------
// sheet list

const decodeXml = (s: string): string => s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_m, e: string) => {
  const lower = e.toLowerCase()
  if (lower === 'amp') return '&'
  if (lower === 'lt') return '<'
  if (lower === 'gt') return '>'
  if (lower === 'quot') return '"'
  if (lower === 'apos') return '\''
  const code = lower.startsWith('#x') ? parseInt(lower.slice(2), 16) : parseInt(lower.slice(1), 10)
  return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : ''
})

function attributes (tag: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g
  let m: RegExpExecArray | null
  while ((m = re.exec(tag)) !== null) out.set(m[1], decodeXml(m[2] ?? m[3] ?? ''))
  return out
}

/** The worksheets of xl/workbook.xml, in tab order, resolved through xl/_rels/workbook.xml.rels. */
export function listSheets (workbookXml: string, relsXml: string): XlsxSheet[] {
  const targets = new Map<string, { target: string, type: string }>()
  for (const m of relsXml.matchAll(/<(?:[\w.-]+:)?Relationship\b([^>]*)>/g)) {
    const attrs = attributes(m[1])
    const id = attrs.get('Id')
    const target = attrs.get('Target')
    if (id !== undefined && target !== undefined && attrs.get('TargetMode') !== 'External') {
      targets.set(id, { target, type: attrs.get('Type') ?? '' })
    }
  }
  const sheets: XlsxSheet[] = []
  for (const m of workbookXml.matchAll(/<(?:[\w.-]+:)?sheet\b([^>]*)>/g)) {
    const attrs = attributes(m[1])
    const name = attrs.get('name')
    let rid: string | undefined
    for (const [key, value] of attrs) if (/(^|:)id$/.test(key) && key !== 'sheetId') rid = value
    const rel = rid === undefined ? undefined : targets.get(rid)
    if (name === undefined || rel === undefined) continue
    if (rel.type !== '' && !/\/worksheet$/.test(rel.type)) continue // chart sheets, dialog sheets
    const resolved = rel.target.startsWith('/') ? rel.target.slice(1) : path.posix.normalize(`xl/${rel.target}`)
    if (resolved.startsWith('../') || unsafeName(resolved) !== undefined) continue
    const state = attrs.get('state')
    sheets.push({ name, path: resolved, hidden: state === 'hidden' || state === 'veryHidden' })
  }
  return sheets
}

// ---------------------------------------------------------------------------------------------------
// the rebuilt archive exceljs reads

const EMPTY_SHARED_STRINGS = Buffer.from('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>')
const EMPTY_RELS = Buffer.from('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>')

interface Part {
  name: string
  entry?: Entry
  data?: Buffer
}

async function * rebuildWorkbook (zip: ZipFile, entries: Map<string, Entry>, sheet: XlsxSheet): AsyncGenerator<Buffer> {
  // order matters: exceljs reads a sheet inline only once it has the relationships and shared strings;
  // otherwise it spools the sheet to its own temp file first
  const sheetEntry = findEntry(entries, sheet.path)
  if (sheetEntry === undefined) throw new AppError('PARSE_FAILED', `The sheet "${sheet.name}" has no part in the archive.`)
  const parts: Part[] = [
    { name: 'xl/_rels/workbook.xml.rels', entry: findEntry(entries, 'xl/_rels/workbook.xml.rels'), data: EMPTY_RELS },
    { name: 'xl/workbook.xml', entry: findEntry(entries, 'xl/workbook.xml') },
    { name: 'xl/sharedStrings.xml', entry: findEntry(entries, 'xl/sharedStrings.xml'), data: EMPTY_SHARED_STRINGS },
    { name: 'xl/styles.xml', entry: findEntry(entries, 'xl/styles.xml') },
    // exceljs only recognises xl/worksheets/sheetN.xml
    { name: /^xl\/worksheets\/sheet\d+\.xml$/.test(sheet.path) ? sheet.path : 'xl/worksheets/sheet1.xml', entry: sheetEntry },
  ]
  const central: Buffer[] = []
  let offset = 0
  for (const part of parts) {
    if (part.entry === undefined && part.data === undefined) continue
    const size = part.entry !== undefined ? part.entry.uncompressedSize : (part.data as Buffer).length
    const crc = part.entry !== undefined ? part.entry.crc32 : zlib.crc32(part.data as Buffer)
    const name = Buffer.from(part.name, 'utf8')
    if (offset + 30 + name.length + size > ZIP32_MAX) throw unsafe('The XLSX parts to read are larger than 4 GiB.', { check: 'uncompressed_size' })
    central.push(centralHeader(name, size, crc, offset))
    const header = localHeader(name, size, crc)
    yield header
    offset += header.length
    if (part.entry === undefined) {
      yield part.data as Buffer
    } else {
      await checkXmlPart(zip, part.entry, part.name) // also covers parts without an .xml name
      yield * utf8Chunks(await openEntry(zip, part.entry), part.name)
    }
    offset += size
  }
  const directory = Buffer.concat(central)
  yield directory
  yield endOfCentralDirectory(central.length, directory.length, offset)
}

/** Re-chunks a part at UTF-8 character boundaries (64 KiB pieces) and checks it is valid UTF-8. */
async function * utf8Chunks (stream: Readable, name: string): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined
  let pending: Buffer[] = []
  let pendingBytes = 0
  try {
    for await (const raw of stream) {
      let buf = raw as Buffer
      if (carry !== undefined) {
        buf = Buffer.concat([carry, buf])
        carry = undefined
      }
      const tail = incompleteUtf8Tail(buf)
      if (tail > 0) {
        carry = Buffer.from(buf.subarray(buf.length - tail))
        buf = buf.subarray(0, buf.length - tail)
      }
      pending.push(buf)
      pendingBytes += buf.length
      if (pendingBytes >= 64 * 1024) {
        const piece = Buffer.concat(pending)
        pending = []
        pendingBytes = 0
        if (!isUtf8(piece)) throw notUtf8(name)
        yield piece
      }
    }
  } finally {
    stream.destroy()
  }
  if (carry !== undefined) throw notUtf8(name)
  if (pendingBytes > 0) {
    const piece = Buffer.concat(pending)
    if (!isUtf8(piece)) throw notUtf8(name)
    yield piece
  }
}

const notUtf8 = (name: string): AppError => new AppError('PARSE_FAILED', `The XLSX part "${name}" is not valid UTF-8.`, { details: { entry: name } })

function localHeader (name: Buffer, size: number, crc: number): Buffer {
  const h = Buffer.alloc(30)
  h.writeUInt32LE(0x04034b50, 0)
  h.writeUInt16LE(20, 4) // version needed
  h.writeUInt16LE(0x0800, 6) // UTF-8 names, sizes known: no data descriptor
  h.writeUInt16LE(0, 8) // stored
  h.writeUInt16LE(0, 10) // time
  h.writeUInt16LE(0x21, 12) // date: 1980-01-01
  h.writeUInt32LE(crc >>> 0, 14)
  h.writeUInt32LE(size, 18)
  h.writeUInt32LE(size, 22)
  h.writeUInt16LE(name.length, 26)
  h.writeUInt16LE(0, 28)
  return Buffer.concat([h, name])
}

function centralHeader (name: Buffer, size: number, crc: number, offset: number): Buffer {
  const h = Buffer.alloc(46)
  h.writeUInt32LE(0x02014b50, 0)
  h.writeUInt16LE(20, 4) // version made by
  h.writeUInt16LE(20, 6) // version needed
  h.writeUInt16LE(0x0800, 8)
  h.writeUInt16LE(0, 10)
  h.writeUInt16LE(0, 12)
  h.writeUInt16LE(0x21, 14)
  h.writeUInt32LE(crc >>> 0, 16)
  h.writeUInt32LE(size, 20)
  h.writeUInt32LE(size, 24)
  h.writeUInt16LE(name.length, 28)
  // extra, comment, disk, attributes: 0
  h.writeUInt32LE(offset, 42)
  return Buffer.concat([h, name])
}

function endOfCentralDirectory (count: number, size: number, offset: number): Buffer {
  const h = Buffer.alloc(22)
  h.writeUInt32LE(0x06054b50, 0)
  h.writeUInt16LE(count, 8)
  h.writeUInt16LE(count, 10)
  h.writeUInt32LE(size, 12)
  h.writeUInt32LE(offset, 16)
  return h
}

/** yauzl's own errors, as the pipeline's codes */
export function mapZipError (err: unknown): unknown {
  if (isAppError(err)) return err
  const message = (err as Error)?.message ?? String(err)
  if (/too many bytes in the stream|not enough bytes in the stream|size mismatch/i.test(message)) {
    return unsafe(`The XLSX archive's declared sizes do not match its content (${message}).`, { check: 'size_mismatch' })
  }
  if (/invalid (relative path|characters)|absolute path/i.test(message)) {
    return unsafe(`The XLSX archive has an unsafe entry name (${message}).`, { check: 'path' })
  }
  return new AppError('PARSE_FAILED', `The XLSX archive could not be read: ${message}.`, { cause: err })
}
