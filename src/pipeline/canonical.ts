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

export type RowOutcome = { ok: true, item: CanonicalItem } | { ok: false, row: number, reason: string }

/** Header normalisation of SPEC §2: case-insensitive, ignoring spaces, `_` and `-`. */
export const normaliseHeader = (header: string): string => header.toLowerCase().replace(/[\s_-]+/g, '')

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/**
 * Maps one file's records onto canonical items. A header's meaning is decided once per distinct
 * header name (files have few distinct headers and many rows).
 */
export class CanonicalMapper {
  readonly #fieldByHeader = new Map<string, CanonicalField | null>()
  readonly #explicit = new Map<string, CanonicalField>()

  constructor (mapping: Pick<AgentMapping, 'fieldMap'>) {
    // fieldMap wins over the automatic match: { sku: "Item No" } maps that column, exactly or normalised
    for (const [field, header] of Object.entries(mapping.fieldMap ?? {})) {
      if (header) this.#explicit.set(normaliseHeader(header), field as CanonicalField)
    }
  }

  fieldFor (header: string): CanonicalField | null {
    let field = this.#fieldByHeader.get(header)
    if (field === undefined) {
      const norm = normaliseHeader(header)
      field = this.#explicit.get(norm) ?? null
      if (field === null && this.#explicit.size > 0) {
        // a canonical name taken over by an explicit mapping is no longer matched automatically
        const claimed = new Set(this.#explicit.values())
        field = (CANONICAL_FIELDS as readonly string[]).includes(norm) && !claimed.has(norm as CanonicalField) ? norm as CanonicalField : null
      } else if (field === null) {
        field = (CANONICAL_FIELDS as readonly string[]).includes(norm) ? norm as CanonicalField : null
      }
      this.#fieldByHeader.set(header, field)
    }
    return field
  }

  map (row: number, values: Record<string, unknown>): RowOutcome {
    const canonical: Partial<Record<CanonicalField, unknown>> = {}
    const attributes: Record<string, unknown> = {}
    for (const [header, value] of Object.entries(values)) {
      const field = this.fieldFor(header)
      if (field && canonical[field] === undefined) canonical[field] = value
      else if (value !== undefined) attributes[header] = value
    }
    const sku = text(canonical.sku)
    if (sku === null) return { ok: false, row, reason: 'sku is missing' }
    const quantity = numeric(canonical.quantity)
    if (quantity === false) return { ok: false, row, reason: `quantity ${JSON.stringify(String(canonical.quantity))} is not a number` }
    const price = numeric(canonical.price)
    if (price === false) return { ok: false, row, reason: `price ${JSON.stringify(String(canonical.price))} is not a number` }
    return {
      ok: true,
      item: { row, sku, name: text(canonical.name), quantity, price, currency: text(canonical.currency), location: text(canonical.location), attributes },
    }
  }
}

function text (value: unknown): string | null {
  if (value === null || value === undefined) return null
  const s = (value instanceof Date ? value.toISOString() : String(value)).trim()
  return s === '' ? null : s
}

/** null when empty, false when present but not a number. */
function numeric (value: unknown): number | null | false {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return Number.isFinite(value) ? value : false
  const s = String(value).trim()
  if (s === '') return null
  return NUMBER.test(s) ? Number(s) : false
}
