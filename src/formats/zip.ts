import path from 'node:path'
import { Readable } from 'node:stream'
import yauzl from 'yauzl'
import type { Entry, ZipFile } from 'yauzl'
import { AppError } from '../errors.js'
import type { PipelineLimits } from '../config.js'
import { formatFromFileName } from './detect.js'
import { checkCentralDirectory, entryName, mapZipError, type ZipKind } from './xlsx-guard.js'

/**
 * Zip archives of inventory files (docs/formats.md): each member in a supported format is a file of
 * the sync. The archive is checked exactly like an XLSX before anything is inflated (entry count,
 * declared total size, compression ratio, `..`/absolute/backslash names, encryption, methods: see
 * xlsx-guard.ts), and yauzl fails a member the moment it inflates to more than its header declared.
 * Members are read one at a time, streamed; the archive itself must be a file (the central
 * directory is at its end), so callers spool it first.
 */

const ZIP_KIND: ZipKind = {
  label: 'zip archive',
  unsafe: (message, details = {}) => new AppError('ZIP_UNSAFE', message, { details }),
}

/** Extensions read inside an archive besides those formatFromFileName knows (as in a pull: .txt is CSV). */
const TEXT_EXTENSIONS = new Set(['.txt'])

export interface ZipMember {
  /** the path inside the archive, as stored */
  name: string
  /** uncompressed size (as declared; enforced while inflating) */
  size: number
  /** why the member is not read (a folder is not listed at all), or undefined if it is */
  skip?: string
}

export interface OpenedZip {
  /** an Office workbook (it has xl/workbook.xml): read it as one XLSX file, not as an archive */
  isWorkbook: boolean
  members: ZipMember[]
  open (member: ZipMember): Promise<Readable>
  close (): void
}

/** the 4 bytes every zip starts with (a local file header, or the end record of an empty archive) */
export function isZipMagic (head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5) && head[3] === head[2] + 1
}

export async function openZip (file: string, fileBytes: number, limits: PipelineLimits): Promise<OpenedZip> {
  let zip: ZipFile
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false })
  } catch (err) {
    throw new AppError('PARSE_FAILED', `The file is not a readable zip archive: ${(err as Error).message}.`, { cause: err })
  }
  let entries: Map<string, Entry>
  try {
    entries = await checkCentralDirectory(zip, fileBytes, limits, ZIP_KIND)
  } catch (err) {
    zip.close()
    throw zipError(err)
  }
  const members: ZipMember[] = []
  for (const [name, entry] of entries) members.push({ name, size: entry.uncompressedSize, skip: skipReason(name) })
  return {
    isWorkbook: entries.has('xl/workbook.xml'),
    members,
    async open (member) {
      const entry = entries.get(member.name)
      if (entry === undefined || entryName(entry) !== member.name) throw new AppError('PARSE_FAILED', `The archive has no member "${member.name}".`)
      let stream: Readable
      try {
        stream = await zip.openReadStreamPromise(entry)
      } catch (err) {
        throw zipError(err)
      }
      return Readable.from(withZipErrors(stream), { objectMode: false })
    },
    close: () => { zip.close() },
  }
}

function skipReason (name: string): string | undefined {
  const base = path.posix.basename(name)
  // macOS Finder adds __MACOSX/ resource forks and .DS_Store files to every archive it makes
  if (name.startsWith('__MACOSX/') || base.startsWith('.')) return 'hidden or system file'
  const lower = base.toLowerCase().replace(/\.(gz|gzip)$/, '')
  if (lower.endsWith('.zip')) return 'an archive inside the archive (not read)'
  if (formatFromFileName(base) !== undefined || TEXT_EXTENSIONS.has(path.posix.extname(lower))) return undefined
  return `unsupported file type "${path.posix.extname(lower) || base}"`
}

/** A member's bytes; an inflate failure (corrupt data, more bytes than declared) leaves as the pipeline's codes. */
async function * withZipErrors (stream: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer
  } catch (err) {
    throw zipError(err)
  } finally {
    stream.destroy()
  }
}

/** yauzl's inflate-size errors are the archive lying about itself: ZIP_UNSAFE, as for XLSX. */
export function zipError (err: unknown): unknown {
  const mapped = mapZipError(err)
  if (mapped instanceof AppError && mapped.code === 'XLSX_UNSAFE') {
    return ZIP_KIND.unsafe(mapped.message.replace('XLSX archive', 'zip archive'), mapped.details)
  }
  if (mapped instanceof AppError && mapped.code === 'PARSE_FAILED') {
    return new AppError('PARSE_FAILED', mapped.message.replace('XLSX archive', 'zip archive'), { cause: err })
  }
  return mapped
}
