import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler'

type Schema = Record<string, unknown>

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value)
const isNull = (option: Schema) => option.type === 'null' && Object.keys(option).length === 1
const stringConst = (option: Schema) => typeof option.const === 'string'

/**
 * The same response schema, written the way fast-json-stringify serialises fastest. It runs the
 * options of every `anyOf` through Ajv for every value, to pick the branch: a page of 20 syncs
 * (eight such unions each — literal enums, nullable timestamps checked against the date-time
 * regular expression) took twice as long as with plain types (bench/findings.md, API). TypeBox
 * writes unions as `anyOf`, and the OpenAPI document and the types keep them; only the serialiser
 * gets the rewrite:
 * - an `anyOf` of string constants (and null) becomes a string `enum` (with null);
 * - an `anyOf` of one schema with a single `type` and `null` becomes that schema with `type: [t, 'null']`.
 * Anything else is left as it is. The JSON written is the same (test/unit/lean-serializer.test.ts).
 */
export function leanSchema (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(leanSchema)
  if (!isSchema(schema)) return schema
  const lean: Schema = {}
  for (const key of Object.keys(schema)) lean[key] = leanSchema(schema[key])
  const options = lean.anyOf
  if (!Array.isArray(options) || !options.every(isSchema)) return lean
  const { anyOf: _unions, ...siblings } = lean
  const nonNull = options.filter(o => !isNull(o))
  const nullable = nonNull.length < options.length
  if (nonNull.length > 0 && nonNull.every(stringConst)) {
    const values: Array<string | null> = nonNull.map(o => o.const as string)
    return { ...siblings, type: nullable ? ['string', 'null'] : 'string', enum: nullable ? [...values, null] : values }
  }
  const [only] = nonNull
  if (nullable && nonNull.length === 1 && typeof only.type === 'string' && only.anyOf === undefined && only.$ref === undefined) {
    return { ...siblings, ...only, type: [only.type, 'null'] }
  }
  return lean
}

/**
 * Fastify's own serializer factory (fast-json-stringify), fed the lean form of every route's
 * response schema and of the shared schemas (`app.addSchema`) they refer to.
 */
export function leanSerializerFactory (): SerializerFactory {
  const buildDefault = SerializerSelector()
  return (externalSchemas, serializerOptions) => {
    const leanExternal = isSchema(externalSchemas)
      ? Object.fromEntries(Object.entries(externalSchemas).map(([id, s]) => [id, leanSchema(s)]))
      : externalSchemas
    const compile = buildDefault(leanExternal, serializerOptions)
    return (route) => compile({ ...route, schema: leanSchema(route.schema) as typeof route.schema })
  }
}
