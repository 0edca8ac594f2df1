import type { Readable } from 'node:stream'
import type { PipelineLimits } from '../config.js'
import type { CanonicalField } from '../domain/agent.js'
import { AppError } from '../errors.js'
import { openInventoryStream, type OpenedInventory } from '../formats/detect.js'
import { ENCODING_FALLBACK_WARNING } from '../formats/encoding.js'
import { describeLayout, noRowsError, type FileLayout, type ParseSettings } from '../formats/parse-options.js'
import { isRowProblem, type FileFormat } from '../formats/types.js'
import { findTextFlaw, type FlawAt } from '../util/text.js'
import { CanonicalMapper, type CanonicalItem } from './canonical.js'

/**
 * One file read as it lands: parsed (with the person's parse options), each record mapped onto a
 * canonical item or a rejection, and the file-level outcomes decided (NO_ROWS, NO_SKU_COLUMN, the
 * warnings of the manifest). Shared by the pipeline, which stores what it reads, and the preview,
 * which stops after a few items: both show a file the same way.
 */

export type FieldMap = Partial<Record<CanonicalField, string>>

/** A warning on a file that landed; the manifest lists them and the UI shows the file amber. */
export interface FileWarning {
  /** UNMAPPED_COLUMNS, ENCODING_FALLBACK, or PARSE_WARNING (a renamed duplicate header, a reserved name, …) */
  code: 'UNMAPPED_COLUMNS' | 'ENCODING_FALLBACK' | 'PARSE_WARNING'
  message: string
  columns?: string[]
}

export interface Rejection { row: number, reason: string, raw?: Record<string, unknown> }

export type Outcome = CanonicalItem | Rejection

export const isRejection = (o: Outcome): o is Rejection => 'reason' in o

export interface ReadInput {
  stream: Readable
  fileName: string
  contentType?: string
  /** the source's configured format; otherwise detected */
  format?: FileFormat
  parse?: ParseSettings
  /** the effective field map (the source's over the agent's) */
  fieldMap: FieldMap
  limits: PipelineLimits
}

/** Column names listed in a warning or an error at most. */
const MAX_COLUMNS_LISTED = 100

export class MappedFile {
  readonly #mapper: CanonicalMapper
  #rows = 0
  #skuChecked = false

  /** `layout` is filled in by the parser once it knows the sheet and the header (before the first row) */
  private constructor (readonly opened: OpenedInventory, mapper: CanonicalMapper, readonly layout: FileLayout) {
    this.#mapper = mapper
  }

  static async open (input: ReadInput): Promise<MappedFile> {
    const mapper = new CanonicalMapper({ fieldMap: input.fieldMap }, input.parse)
    const layout: FileLayout = {}
    const opened = await openInventoryStream(input.stream, {
      fileName: input.fileName,
      contentType: input.contentType,
      format: input.format,
      limits: input.limits,
      parse: input.parse,
      onLayout: (l) => {
        // parse.sheet "*": each sheet reports its header; the file's columns are all of them
        const headers = l.headers && layout.headers && l.sheet !== layout.sheet ? [...new Set([...layout.headers, ...l.headers])] : l.headers
        Object.assign(layout, l, headers ? { headers } : {})
      },
    })
    return new MappedFile(opened, mapper, layout)
  }

  get format (): FileFormat { return this.opened.format }

  /** Records read so far (accepted and rejected). */
  get rows (): number { return this.#rows }

  /** The file's records as items or rejections, batch by batch (the parser's batches). Iterate once. */
  async * outcomes (): AsyncGenerator<Outcome[]> {
    for await (const batch of this.opened.batches) {
      const out: Outcome[] = new Array(batch.length)
      const storable = this.opened.storable(batch)
      for (let i = 0; i < batch.length; i++) {
        const parsed = batch[i]
        if (isRowProblem(parsed)) {
          out[i] = { row: parsed.row, reason: parsed.error }
          continue
        }
        // a value PostgreSQL cannot store rejects its row (and the row is not kept raw either)
        const flaw = storable ? undefined : findTextFlaw(parsed.values)
        if (flaw !== undefined) {
          out[i] = { row: parsed.row, reason: flawReason(flaw) }
          continue
        }
        const mapped = this.#mapper.map(parsed.row, parsed.values)
        out[i] = typeof mapped === 'string' ? { row: parsed.row, reason: mapped, raw: parsed.values } : mapped
      }
      this.#rows += batch.length
      // a file with a header decides at its first row: no column for sku rejects the file, not each row
      if (!this.#skuChecked && batch.length > 0 && this.layout.headers !== undefined) {
        this.#skuChecked = true
        this.#checkSku(this.layout.headers)
      }
      yield out
    }
  }

  /**
   * After the last batch: NO_ROWS when nothing was read, NO_SKU_COLUMN when no column met maps to
   * sku (files without a header row: JSON, NDJSON), otherwise the file's warnings.
   */
  finish (): FileWarning[] {
    if (this.#rows === 0) throw noRowsError(this.layout, this.opened.format)
    if (!this.#skuChecked) this.#checkSku(this.layout.headers ?? this.#mapper.headersSeen())
    return this.warnings()
  }

  /** The warnings known so far (final after `finish`). */
  warnings (): FileWarning[] {
    const warnings: FileWarning[] = []
    const unmapped = this.columns().filter(c => c.field === null).map(c => c.header)
    if (unmapped.length > 0) {
      const shown = unmapped.slice(0, MAX_COLUMNS_LISTED)
      const one = unmapped.length === 1
      const names = `${shown.map(c => `"${c}"`).join(', ')}${unmapped.length > shown.length ? ', …' : ''}`
      warnings.push({
        code: 'UNMAPPED_COLUMNS',
        message: `${unmapped.length} column${one ? ' maps' : 's map'} to no canonical field and ${one ? 'was' : 'were'} kept in attributes: ${names}. ` +
          `Map ${one ? 'it' : 'them'} with the source's fieldMap if ${one ? 'it holds' : 'they hold'} a canonical field.`,
        columns: shown,
      })
    }
    for (const message of this.opened.warnings) {
      const fallback = this.opened.encodingFallback && message.startsWith(ENCODING_FALLBACK_WARNING)
      warnings.push({ code: fallback ? 'ENCODING_FALLBACK' : 'PARSE_WARNING', message })
    }
    return warnings
  }

  /** Every column of the file (the header, or the keys met so far) with the field it lands in. */
  columns (): Array<{ header: string, field: CanonicalField | null }> {
    const headers = this.layout.headers ?? this.#mapper.headersSeen()
    return headers.map(header => ({ header, field: this.#mapper.fieldOf(header) }))
  }

  #checkSku (headers: string[]): void {
    if (headers.some(h => this.#mapper.fieldOf(h) === 'sku')) return
    const read = describeLayout({ ...this.layout, headers: undefined, headerRow: undefined }, this.opened.format)
    const shown = headers.slice(0, MAX_COLUMNS_LISTED)
    throw new AppError('NO_SKU_COLUMN',
      `No column maps to sku${read ? ` (read ${read})` : ''}. The columns are: ${shown.length > 0 ? shown.map(h => `"${h}"`).join(', ') : '(none)'}` +
      `${headers.length > shown.length ? ', …' : ''}. Name the SKU column "sku", or map it with the source's fieldMap, e.g. { "sku": "Item No" }.`, {
        details: { ...this.layout, headers: shown },
      })
  }
}

/** The reason a row with text PostgreSQL cannot store is rejected; names where it is, never quotes it. */
function flawReason ({ flaw, path, inKey }: FlawAt): string {
  const where = path.slice(1, 101)
  if (inKey) return where === '' ? `a column name holds ${flaw}, which cannot be stored` : `a key inside "${where}" holds ${flaw}, which cannot be stored`
  return `"${where}" holds ${flaw}, which cannot be stored`
}
