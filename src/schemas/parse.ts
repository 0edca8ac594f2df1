import { Type } from 'typebox'
import { Value } from 'typebox/value'
import { CANONICAL_FIELDS } from '../domain/agent.js'
import { AppError } from '../errors.js'

const nullable = <T extends Parameters<typeof Type.Optional>[0]>(schema: T) => Type.Optional(Type.Union([schema, Type.Null()]))

/**
 * `config.parse` of an inventory source, the multipart field `parse` of an upload and the
 * `X-Ferry-Parse` header of an inbound delivery (docs/formats.md). Every field is optional; `null`
 * clears it back to detection.
 */
export const ParseConfig = Type.Object({
  delimiter: nullable(Type.String({ minLength: 1, maxLength: 4, description: 'CSV delimiter, e.g. ";" or "\\t" (default: sniffed among , ; tab |)' })),
  quote: nullable(Type.String({ maxLength: 1, description: 'CSV quote character (default "); "" reads quotes as ordinary characters' })),
  headerRow: nullable(Type.Integer({ minimum: 1, maximum: 10_000, description: '1-based line (CSV) or row (XLSX) of the header; lines above it are skipped' })),
  decimalSeparator: nullable(Type.Union([Type.Literal('.'), Type.Literal(',')], { description: 'decimal mark of numbers written as text (default ".")' })),
  thousandsSeparator: nullable(Type.Union([Type.Literal(','), Type.Literal('.'), Type.Literal(' '), Type.Literal('\'')],
    { description: 'digit-group mark of numbers written as text (default: none)' })),
  encoding: nullable(Type.String({ minLength: 1, maxLength: 64, description: 'any WHATWG encoding label, e.g. "windows-1252", "utf-16le", "iso-8859-2"' })),
  sheet: nullable(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Integer({ minimum: 1, maximum: 1000 })],
    { description: 'XLSX: a sheet name, a 1-based index, or "*" for every sheet (default: the first visible sheet)' })),
}, { title: 'ParseConfig', additionalProperties: false })

/** A source's `config.fieldMap`: canonical field → column name; overrides the agent's mapping.fieldMap field by field. */
export const SourceFieldMap = Type.Object(
  Object.fromEntries(CANONICAL_FIELDS.map(f => [f, nullable(Type.String({ minLength: 1, maxLength: 200 }))])),
  { additionalProperties: false, description: 'canonical field → column name in this source\'s files; null clears a field' })

/**
 * The parse options sent with one file (the multipart field `parse`, the `X-Ferry-Parse` header):
 * a JSON object of ParseConfig fields; 400 naming `field` when it is not one.
 */
export function parseOverride (text: string | undefined, field: string): Record<string, unknown> | undefined {
  if (text === undefined || text.trim() === '') return undefined
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new AppError('VALIDATION_FAILED', `${field} must be a JSON object of parse options, e.g. {"delimiter":";","decimalSeparator":","}.`, {
      details: { field },
    })
  }
  if (!Value.Check(ParseConfig, value)) {
    const first = [...Value.Errors(ParseConfig, value)][0]
    const where = first?.instancePath ? `${field}${first.instancePath.replace(/\//g, '.')}` : field
    throw new AppError('VALIDATION_FAILED', `${where} ${first?.message ?? 'is not valid'} (see docs/formats.md).`, { details: { field: where } })
  }
  return value as Record<string, unknown>
}
