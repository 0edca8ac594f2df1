import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { RemoteFile } from '../connectors/remote-file.js'
import type { Transport } from '../connectors/transport.js'
import type { Deps } from '../deps.js'
import { requireAgent } from '../agents/service.js'
import { requireSource } from '../sources/lookup.js'
import type { Agent } from '../db/sql/agents.js'
import type { CanonicalField } from '../domain/agent.js'
import {
  compilePattern, importOptionsOf, mergeConfigPatch, type SourceConfig, type SourceRole, type SourceType,
} from '../domain/source.js'
import { AppError, isAppError } from '../errors.js'
import { ByteSource } from '../formats/stream-utils.js'
import { spoolToTempFile, type SpooledFile } from '../formats/xlsx-guard.js'
import { isZipMagic, openZip, type OpenedZip } from '../formats/zip.js'
import type { CanonicalItem } from '../pipeline/canonical.js'
import { effectiveFieldMap } from '../pipeline/ingest.js'
import { MappedFile, isRejection, type FileWarning } from '../pipeline/reader.js'
import { prepareSourceConfig } from '../sources/service.js'
import { fileNameOf } from '../kinds/file-checks.js'
import { kindOf, roleOf } from '../kinds/registry.js'
import type { FileLocation, KindDescriptor } from '../kinds/types.js'
import { skipReason } from '../sync/pull.js'

/**
 * POST …/data-sources/{sid}/preview and …/data-sources/preview (docs/formats.md): the newest
 * matching file (or a given key) read exactly as a pull would land it — same parse options, field
 * map, mapping and checks (pipeline/reader.ts) — but only up to the first PREVIEW_ROWS items, and
 * read-only: no sync, no ledger row, no upload. A person sees columns → fields, the items, the
 * rejected rows and the warnings before the first pull.
 */

export const PREVIEW_ROWS = 20
/** rejected rows met while reading the first items, listed at most */
const PREVIEW_REJECTED = 20

export interface PreviewInput {
  /** an object key under the prefix, or `archive.zip!member.csv`; default the newest matching file */
  key?: string
  /** parse options to try, over the source's (null clears one) */
  parse?: Record<string, unknown> | null
  /** a field map to try, over the source's */
  fieldMap?: Record<string, unknown> | null
}

export interface Preview {
  file: { key: string, size: number, format: string, encoding: string | null, sheet?: string }
  sheets?: string[]
  columns: Array<{ header: string, field: CanonicalField | null }>
  rows: CanonicalItem[]
  rejected: Array<{ row: number, reason: string }>
  warnings: FileWarning[]
  /** the file as a whole would be refused: NO_ROWS, NO_SKU_COLUMN, PARSE_FAILED, … */
  error?: { code: string, message: string }
}

/** The preview of a saved source, with optional options to try over its own. */
export async function previewSavedSource (deps: Deps, orgId: string, agentId: string, sourceId: string, input: PreviewInput): Promise<Preview> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  const source = await requireSource(deps.db, orgId, agentId, sourceId)
  refuseWithoutFiles(source.type, source.role)
  const trial: Record<string, unknown> = {}
  if (input.parse !== undefined) trial.parse = input.parse
  if (input.fieldMap !== undefined) trial.fieldMap = input.fieldMap
  const config = Object.keys(trial).length === 0
    ? source.config
    : await prepareSourceConfig(deps, orgId, source.type, source.role, mergeConfigPatch(source.config as unknown as Record<string, unknown>, trial))
  return await preview(deps, orgId, agent, source.type, config, input.key)
}

/** The preview of a config not saved yet (the add-source form). */
export async function previewUnsavedSource (deps: Deps, orgId: string, agentId: string,
  input: { type: SourceType, role: SourceRole, config: Record<string, unknown>, key?: string }): Promise<Preview> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  refuseWithoutFiles(input.type, input.role)
  const config = await prepareSourceConfig(deps, orgId, input.type, input.role, input.config)
  return await preview(deps, orgId, agent, input.type, config, input.key)
}

/** Only inventory sources of kinds Ferry reads files from have a file to preview. */
function refuseWithoutFiles (type: SourceType, role: SourceRole): void {
  if (role !== 'INVENTORY_SOURCE') throw new AppError('VALIDATION_FAILED', 'Only inventory sources read files to preview.', { details: { field: 'role' } })
  const descriptor = roleOf(type, role)
  if (!descriptor.pulled) throw new AppError('NO_FILE_TO_PREVIEW', descriptor.noPreview ?? 'This kind of source keeps no file to preview.')
}

async function preview (deps: Deps, orgId: string, agent: Agent, type: SourceType, config: SourceConfig, key?: string): Promise<Preview> {
  const kind: KindDescriptor = kindOf(type)
  const location = kind.location!(config)
  return await kind.withTransport!(deps, orgId, config, async (transport) => {
    const [objectKey, member] = splitKey(key)
    const file = objectKey !== undefined ? await findObject(transport, location, objectKey) : await newestMatching(transport, location, config)
    const controller = new AbortController()
    const body = await transport.open(file, controller.signal)
    try {
      return await readPreview(deps, agent, kind, config, file, body, member)
    } finally {
      controller.abort()
      body.destroy()
    }
  })
}

/** "archive.zip!member.csv" → the object and the member; a key without "!" names an object. */
function splitKey (key: string | undefined): [string | undefined, string | undefined] {
  if (key === undefined) return [undefined, undefined]
  const bang = key.indexOf('!')
  return bang === -1 ? [key, undefined] : [key.slice(0, bang), key.slice(bang + 1)]
}

async function findObject (transport: Transport, location: FileLocation, key: string): Promise<RemoteFile> {
  if (location.relative(key) === null) {
    throw new AppError('NO_FILE_TO_PREVIEW', `The key "${key}" is not under the source's ${location.label}.`, { details: { field: 'key' } })
  }
  for await (const page of transport.list()) {
    const found = page.find(f => f.key === key)
    if (found) return found
  }
  const where = location.label.replace(/ ".*$/, '')
  throw new AppError('NO_FILE_TO_PREVIEW', `There is no ${location.noun} "${key}" under the ${where}.`, { details: { field: 'key' } })
}

/** The newest object a pull would take (pattern, supported type, not empty). */
export async function newestMatching (transport: Transport, location: FileLocation, config: SourceConfig): Promise<RemoteFile> {
  const matches = compilePattern(config.pattern)
  let newest: RemoteFile | undefined
  for await (const page of transport.list()) {
    for (const f of page) {
      if (skipReason(f, location.relative(f.key) ?? f.key, matches, Boolean(config.format)) !== null) continue
      if (!newest || (f.lastModified?.getTime() ?? 0) > (newest.lastModified?.getTime() ?? 0)) newest = f
    }
  }
  if (!newest) {
    const pattern = config.pattern ? ` matches the pattern "${config.pattern}"` : ''
    throw new AppError('NO_FILE_TO_PREVIEW', `No file under the ${location.label}${pattern} in a supported format yet.`)
  }
  return newest
}

async function readPreview (
  deps: Deps, agent: Agent, kind: KindDescriptor, config: SourceConfig, object: RemoteFile, body: Readable, member?: string,
): Promise<Preview> {
  const options = importOptionsOf(config)
  const limits = deps.config.limits
  const source = new ByteSource(body)
  const objectName = fileNameOf(kind.location!(config), object.key)
  const archive = objectName.toLowerCase().endsWith('.zip') ||
    (options.format === undefined && isZipMagic(await source.peek(4)) && !/\.(xlsx|xlsm)$/i.test(objectName))
  let spooled: SpooledFile | undefined
  let zip: OpenedZip | undefined
  try {
    let stream = Readable.from(source, { objectMode: false })
    let key = object.key
    let size = object.size
    let format = options.format
    if (archive || member !== undefined) {
      spooled = await spoolToTempFile(stream, limits.maxFileBytes, 'zip')
      zip = await openZip(spooled.path, spooled.bytes, limits)
      if (zip.isWorkbook) {
        format ??= 'xlsx'
        stream = fs.createReadStream(spooled.path)
      } else {
        const chosen = member !== undefined ? zip.members.find(m => m.name === member) : zip.members.find(m => m.skip === undefined)
        if (!chosen) {
          throw new AppError('NO_FILE_TO_PREVIEW',
            member !== undefined ? `The archive has no member "${member}".` : 'The archive holds no file in a supported format.')
        }
        if (chosen.skip !== undefined) throw new AppError('NO_FILE_TO_PREVIEW', `The member "${chosen.name}" is not read: ${chosen.skip}.`)
        stream = await zip.open(chosen)
        key = `${object.key}!${chosen.name}`
        size = chosen.size
      }
    }
    const fileName = key === object.key ? objectName : path.posix.basename(key.replace(/^.*!/, ''))
    return await mapFirstRows({ key, size }, await MappedFile.open({
      stream, fileName, format, parse: options.parse, fieldMap: effectiveFieldMap(agent, options.fieldMap), limits,
    }))
  } catch (err) {
    // a failure of the target (its transport's codes) is the answer; one of the file is shown as the preview's error
    if (isAppError(err) && err.failureType === 'config' && err.code !== 'NO_FILE_TO_PREVIEW' && !kind.errorCodes?.includes(err.code)) {
      // the file could not be opened at all: still an answer a person can act on
      return {
        file: { key: object.key, size: object.size, format: options.format ?? 'unknown', encoding: null },
        columns: [], rows: [], rejected: [], warnings: [], error: { code: err.code, message: err.message },
      }
    }
    throw err
  } finally {
    zip?.close()
    await spooled?.remove()
  }
}

async function mapFirstRows (file: { key: string, size: number }, mapped: MappedFile): Promise<Preview> {
  const rows: CanonicalItem[] = []
  const rejected: Array<{ row: number, reason: string }> = []
  let error: Preview['error']
  let complete = false
  try {
    for await (const batch of mapped.outcomes()) {
      for (const outcome of batch) {
        if (!isRejection(outcome)) rows.push(outcome)
        else if (rejected.length < PREVIEW_REJECTED) rejected.push({ row: outcome.row, reason: outcome.reason })
        if (rows.length >= PREVIEW_ROWS) break
      }
      // leaving the loop ends the parser (its stream and temp files are released)
      if (rows.length >= PREVIEW_ROWS) break
    }
    complete = rows.length < PREVIEW_ROWS
    if (complete) mapped.finish()
  } catch (err) {
    if (!isAppError(err) || err.failureType !== 'config') throw err
    error = { code: err.code, message: err.message }
  }
  const layout = mapped.layout
  return {
    file: {
      key: file.key,
      size: file.size,
      format: mapped.format,
      // binary formats have no text encoding
      encoding: mapped.format === 'xlsx' || mapped.format === 'parquet' ? null : mapped.opened.encoding,
      ...(layout.sheet ? { sheet: layout.sheet } : {}),
    },
    ...(layout.sheets ? { sheets: layout.sheets } : {}),
    columns: mapped.columns(),
    rows,
    rejected,
    warnings: mapped.warnings(),
    ...(error ? { error } : {}),
  }
}
