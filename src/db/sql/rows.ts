/** Row → API value helpers shared by every file in src/db/sql. */
export const iso = (value: unknown): string | null =>
  value == null ? null : (value instanceof Date ? value : new Date(String(value))).toISOString()

export const isoRequired = (value: unknown): string => iso(value) as string

/** jsonb parameters are always sent as text: pg would turn a JS array into a PostgreSQL array. */
export const json = (value: unknown): string => JSON.stringify(value)
