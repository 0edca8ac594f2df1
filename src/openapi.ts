import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger'
import { isDeepStrictEqual } from 'node:util'
import type { Config } from './config.js'
import { documentKindConfigs, documentResourceConfig } from './openapi-configs.js'
import { ERROR_RESPONSES } from './schemas/common.js'

/**
 * The OpenAPI document's shape beyond what each route declares (docs/api.md): its servers, security
 * schemes, and names for its schemas. Every operation names itself (`operationId` in its route's
 * schema, checked by test/integration/openapi.test.ts); `npm run lint:openapi` lints the result.
 */
export function openApiOptions (config: Pick<Config, 'publicUrl'>): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      info: { title: 'Ferry API', version: '1', description: 'Moves inventory files in and mapping-job results out for agents.' },
      // relative to where the document was fetched from unless Ferry knows its public address
      servers: [{ url: config.publicUrl ?? '/', description: config.publicUrl ? 'FERRY_PUBLIC_URL' : 'this server' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key of the organisation (docs/security.md).' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'FERRY_METRICS_TOKEN, when set: GET /metrics only.' },
        },
      },
      security: [{ bearer: [] }],
    },
    // shared schemas (app.addSchema) are components named by their $id, not def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    // before @fastify/swagger converts a route's schemas to OpenAPI 3.0 (nullable…): the kinds' configs
    transform: ({ schema, url }) => ({ schema: documentKindConfigs(schema), url }),
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject
      return documentResourceConfig(nameComponents(documentObject.openapiObject as OpenApiDocument)) as typeof documentObject.openapiObject
    },
  }
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, { responses?: Record<string, unknown> } | unknown>>
  components?: { schemas?: Record<string, unknown>, responses?: Record<string, unknown> }
  [key: string]: unknown
}

type JsonObject = Record<string, unknown>
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Names the document's parts so clients generate types with names:
 * - an inline schema with a `title` (a TypeBox schema given `{ title: 'S3Config' }`) becomes the
 *   component of that name wherever it appears; one title naming two different schemas is a bug,
 *   and throws. Titled schemas stay plain values in TypeScript (no Type.Ref, whose static type
 *   is unknown), so handlers keep their typed bodies.
 * - the standard error answers (ERROR_RESPONSES) become shared response components.
 */
export function nameComponents (doc: OpenApiDocument): OpenApiDocument {
  const schemas: JsonObject = { ...doc.components?.schemas }
  const hoist = (node: unknown, where: string): unknown => {
    if (Array.isArray(node)) return node.map((n, i) => hoist(n, `${where}/${i}`))
    if (!isObject(node)) return node
    const out: JsonObject = {}
    for (const [k, v] of Object.entries(node)) out[k] = hoist(v, `${where}/${k}`)
    const title = out.title
    if (typeof title !== 'string' || where === `#/components/schemas/${title}`) return out
    // a nullable union of a titled schema: the component is the schema, the null stays at the use;
    // so does a description that says what the schema is for at that use
    const { nullable, description, ...schema } = out
    const known = schemas[title] as JsonObject | undefined
    if (known === undefined) schemas[title] = description === undefined ? schema : { ...schema, description }
    else {
      const { description: _own, ...knownSchema } = known
      if (!isDeepStrictEqual(knownSchema, schema)) throw new Error(`OpenAPI: two different schemas are titled "${title}" (${where})`)
    }
    const ref = { $ref: `#/components/schemas/${title}` }
    const atUse = description !== undefined && description !== (schemas[title] as JsonObject).description ? { description } : undefined
    // OpenAPI 3.0 reads nullable only next to a type
    if (nullable === true) return { type: schema.type, allOf: [ref], nullable: true, ...atUse }
    return atUse ? { allOf: [ref], ...atUse } : ref
  }
  for (const [name, schema] of Object.entries(schemas)) schemas[name] = hoist(schema, `#/components/schemas/${name}`)
  const paths = hoist(doc.paths ?? {}, '#/paths') as NonNullable<OpenApiDocument['paths']>

  const responses: JsonObject = { ...doc.components?.responses }
  for (const [status, { name, description }] of Object.entries(ERROR_RESPONSES)) {
    const shared = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } } }
    let used = false
    for (const methods of Object.values(paths)) {
      for (const operation of Object.values(methods)) {
        const answers = isObject(operation) && isObject(operation.responses) ? operation.responses : undefined
        if (answers && isDeepStrictEqual(answers[status], shared)) {
          answers[status] = { $ref: `#/components/responses/${name}` }
          used = true
        }
      }
    }
    if (used) responses[name] = shared
  }
  return { ...doc, paths, components: { ...doc.components, schemas, responses } }
}
