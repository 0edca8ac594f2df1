import { CANONICAL_FIELDS, type CanonicalField, type OutputColumn } from '../domain/agent.js'
import { AppError } from '../errors.js'
import type { StoredItem } from '../db/sql/inventory.js'

/** agent.mapping.output when it is empty: the canonical fields, under their own names. */
export const DEFAULT_OUTPUT: OutputColumn[] = CANONICAL_FIELDS.map(f => ({ column: f, from: f }))

const ATTRIBUTE_PREFIX = 'attributes.'
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

export interface Projection {
  columns: string[]
  /** one item → its result values, in column order */
  project(item: Omit<StoredItem, 'rowNumber'>): unknown[]
}

/** The output a job is created with: the agent's mapping.output, or the canonical fields. */
export const outputOf = (mapping: { output?: OutputColumn[] }): OutputColumn[] =>
  mapping.output && mapping.output.length > 0 ? mapping.output : DEFAULT_OUTPUT

/**
 * Compiles `mapping.output` (`[{ column, from, transform? }]`) into a projection. `from` is a
 * canonical field or `attributes.<name>` (the name is everything after the first dot, so it may hold
 * dots itself). Throws VALIDATION_FAILED naming the entry for anything else and for repeated columns.
 */
export function compileProjection (output: OutputColumn[]): Projection {
  const seen = new Set<string>()
  const getters = output.map((col, i) => {
    const where = `mapping.output[${i}]`
    if (seen.has(col.column)) {
      throw new AppError('VALIDATION_FAILED',
        `${where}.column "${col.column}" appears twice; result columns must be unique.`, { details: { field: `${where}.column` } })
    }
    seen.add(col.column)
    const read = reader(col.from, where)
    const transform = col.transform ? TRANSFORMS[col.transform] : undefined
    if (col.transform && !transform) {
      throw new AppError('VALIDATION_FAILED',
        `${where}.transform "${col.transform}" is not one of upper, lower, trim, number, string.`, { details: { field: `${where}.transform` } })
    }
    return transform ? (item: Omit<StoredItem, 'rowNumber'>) => transform(read(item)) : read
  })
  return {
    columns: output.map(c => c.column),
    project: item => getters.map(get => get(item)),
  }
}

function reader (from: string, where: string): (item: Omit<StoredItem, 'rowNumber'>) => unknown {
  if ((CANONICAL_FIELDS as readonly string[]).includes(from)) {
    const field = from as CanonicalField
    return item => item[field] ?? null
  }
  if (from.startsWith(ATTRIBUTE_PREFIX) && from.length > ATTRIBUTE_PREFIX.length) {
    const name = from.slice(ATTRIBUTE_PREFIX.length)
    return item => (Object.prototype.hasOwnProperty.call(item.attributes, name) ? item.attributes[name] ?? null : null)
  }
  throw new AppError('VALIDATION_FAILED',
    `${where}.from "${from}" is neither a canonical field (${CANONICAL_FIELDS.join(', ')}) nor "attributes.<name>".`, { details: { field: `${where}.from` } })
}

const asText = (value: unknown): string | null => {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}

/** null stays null; text transforms turn other values into text first. */
const TRANSFORMS: Record<NonNullable<OutputColumn['transform']>, (value: unknown) => unknown> = {
  upper: v => asText(v)?.toUpperCase() ?? null,
  lower: v => asText(v)?.toLowerCase() ?? null,
  trim: v => asText(v)?.trim() ?? null,
  string: v => asText(v),
  // a number, or null when the value is empty or not a number (never NaN: it has no JSON form)
  number: v => {
    if (typeof v === 'number') return Number.isFinite(v) ? v : null
    const s = asText(v)?.trim()
    return s && NUMBER.test(s) ? Number(s) : null
  },
}
