import { CANONICAL_FIELDS, type AgentMapping, type CanonicalField } from '../domain/agent.js'

/** One validated inventory item, ready to store. */
export interface CanonicalItem {
  row: number
  sku: string
  name: string | null
  quantity: number | null
  price: number | null
  currency: string | null
  location: string | null
  attributes: Record<string, unknown>
}

/** Header normalisation (docs/formats.md, "Field map"): case-insensitive, ignoring spaces, `_` and `-`. */
export const normaliseHeader = (header: string): string => header.toLowerCase().replace(/[\s_-]+/g, '')

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** A header that is not a canonical field: its values go to the item's attributes. */
const ATTRIBUTE = -1

/**
 * Maps one file's records onto canonical items. A header's meaning is decided once per distinct
 * header name (files have few distinct headers and many rows); per row, each value then costs one
 * map lookup, with no intermediate object per row.
 */
export class CanonicalMapper {
  /** header as written → index in CANONICAL_FIELDS, or ATTRIBUTE */
  readonly #slotByHeader = new Map<string, number>()
  readonly #explicit = new Map<string, CanonicalField>()
  /** the canonical values of the row being mapped, by CANONICAL_FIELDS index (one array per mapper, reset per row) */
  readonly #picked: unknown[] = CANONICAL_FIELDS.map(() => undefined)

  readonly #numbers: CompiledNumberFormat | undefined

  /** `numbers`: parse.decimalSeparator / thousandsSeparator, for numbers written as text */
  constructor (mapping: Pick<AgentMapping, 'fieldMap'>, numbers?: NumberFormat) {
    this.#numbers = numbers?.decimalSeparator === ',' || numbers?.thousandsSeparator !== undefined ? numbersFormat(numbers) : undefined
    // fieldMap wins over the automatic match: { sku: "Item No" } maps that column, exactly or normalised
    for (const [field, header] of Object.entries(mapping.fieldMap ?? {})) {
      if (header) this.#explicit.set(normaliseHeader(header), field as CanonicalField)
    }
  }

  #fieldFor (header: string): CanonicalField | null {
    const norm = normaliseHeader(header)
    const field = this.#explicit.get(norm)
    if (field !== undefined) return field
    if (!(CANONICAL_FIELDS as readonly string[]).includes(norm)) return null
    // a canonical name taken over by an explicit mapping is no longer matched automatically
    for (const claimed of this.#explicit.values()) if (claimed === norm) return null
    return norm as CanonicalField
  }

  /** The canonical field a column lands in, or null when it goes to attributes. */
  fieldOf (header: string): CanonicalField | null {
    const slot = this.#slotFor(header)
    return slot === ATTRIBUTE ? null : CANONICAL_FIELDS[slot]
  }

  /** Every column name met so far, in the order first met. */
  headersSeen (): string[] {
    return [...this.#slotByHeader.keys()]
  }

  #slotFor (header: string): number {
    let slot = this.#slotByHeader.get(header)
    if (slot === undefined) {
      const field = this.#fieldFor(header)
      slot = field === null ? ATTRIBUTE : CANONICAL_FIELDS.indexOf(field)
      this.#slotByHeader.set(header, slot)
    }
    return slot
  }

  /** The item, or the reason the row is rejected. The first column of a field wins; the others are attributes. */
  map (row: number, values: Record<string, unknown>): CanonicalItem | string {
    const picked = this.#picked
    picked.fill(undefined)
    const attributes: Record<string, unknown> = {}
    // records are plain objects (own, enumerable keys only), so for…in visits what Object.entries would, without its arrays
    for (const header in values) {
      const value = values[header]
      const slot = this.#slotFor(header)
      if (slot !== ATTRIBUTE && picked[slot] === undefined) picked[slot] = value
      else if (value !== undefined) attributes[header] = value
    }
    // indexed reads, not array destructuring (which runs the array iterator on every row)
    const skuValue = picked[0]
    const nameValue = picked[1]
    const quantityValue = picked[2]
    const priceValue = picked[3]
    const currencyValue = picked[4]
    const locationValue = picked[5]
    const sku = text(skuValue)
    if (sku === null) return 'sku is missing'
    const quantity = numeric(quantityValue, this.#numbers)
    if (quantity === false) return `quantity ${JSON.stringify(String(quantityValue))} is not a number${this.#numbers?.hint ?? ''}`
    const price = numeric(priceValue, this.#numbers)
    if (price === false) return `price ${JSON.stringify(String(priceValue))} is not a number${this.#numbers?.hint ?? ''}`
    return { row, sku, name: text(nameValue), quantity, price, currency: text(currencyValue), location: text(locationValue), attributes }
  }
}

function text (value: unknown): string | null {
  if (value === null || value === undefined) return null
  const s = (typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : String(value)).trim()
  return s === '' ? null : s
}

export interface NumberFormat {
  decimalSeparator?: '.' | ','
  thousandsSeparator?: ',' | '.' | ' ' | '\''
}

interface CompiledNumberFormat {
  decimal: '.' | ','
  thousands: string | undefined
  /** digits grouped by three with the thousands mark, optionally a decimal part: 1.234.567,89 */
  grouped: RegExp | undefined
  hint: string
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function numbersFormat (f: NumberFormat): CompiledNumberFormat {
  const decimal = f.decimalSeparator ?? '.'
  const thousands = f.thousandsSeparator
  const grouped = thousands === undefined ? undefined : new RegExp(`^[+-]?\\d{1,3}(?:${escapeRe(thousands)}\\d{3})+(?:${escapeRe(decimal)}\\d*)?$`)
  const hint = ` (parse: decimal "${decimal}"${thousands === undefined ? '' : `, thousands "${thousands}"`})`
  return { decimal, thousands, grouped, hint }
}

/** null when empty, false when present but not a number (in the file's number format, when one is set). */
function numeric (value: unknown, format?: CompiledNumberFormat): number | null | false {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return Number.isFinite(value) ? value : false
  let s = (typeof value === 'string' ? value : String(value)).trim()
  if (s === '') return null
  if (format !== undefined) {
    // spreadsheets group digits with no-break spaces where the separator is a space
    if (format.thousands === ' ') s = s.replace(/[\u00a0\u202f]/g, ' ')
    if (format.thousands !== undefined && s.includes(format.thousands)) {
      if (!format.grouped!.test(s)) return false
      s = s.split(format.thousands).join('')
    }
    if (format.decimal === ',') {
      // with a decimal comma, a "." is only ever a thousands mark (handled above): "1.5" is ambiguous
      if (s.includes('.')) return false
      s = s.replace(',', '.')
    }
  }
  return NUMBER.test(s) ? Number(s) : false
}
