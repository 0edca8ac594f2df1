import { KIND_CONFIGS } from './kinds/configs.js'

type JsonObject = Record<string, unknown>
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v)

const ROLE_NAMES: Record<string, string> = { INVENTORY_SOURCE: 'Source', RESULTS_SINK: 'Sink' }
const pascal = (type: string) => type.split(/[_-]/).map(w => w.charAt(0).toUpperCase() + w.slice(1)).join('')

/** Each (type, role) (S3Source, WebhookSink…) with its config schema, titled: S3Config (both roles), WebhookSourceConfig… */
function configVariants (): Array<{ type: string, role: string, name: string, config: JsonObject }> {
  return Object.entries(KIND_CONFIGS).flatMap(([type, roles]) => {
    const byRole = Object.entries(roles as unknown as Record<string, JsonObject>)
    const shared = byRole.length > 1 && byRole.every(([, schema]) => schema === byRole[0]![1])
    return byRole.map(([role, schema]) => {
      const name = `${pascal(type)}${ROLE_NAMES[role]}`
      return { type, role, name, config: { ...schema, title: `${shared ? pascal(type) : name}Config` } }
    })
  })
}

/**
 * The data-source schemas as the API documents them: one variant per (type, role), each with its
 * kind's config schema (src/kinds/<type>/config.ts), so every config field is documented. The
 * routes validate `config` as an object and the sources service checks it against the same kind
 * schema, so that a wrong field gets a message naming it rather than ajv's "must match a schema in
 * oneOf"; this document-only transform (docs/api.md) is where the union shows.
 */
export function documentKindConfigs<D> (doc: D): D {
  const variants = configVariants()
  const anyConfig = () => ({
    oneOf: [...new Map(variants.map(v => [v.config.title, v.config])).values()],
    description: 'the config of the source\'s type and role: one of these (see each)',
  })
  const perVariant = (base: JsonObject, suffix: string) => ({
    oneOf: variants.map(v => ({
      ...base,
      title: `${v.name}${suffix}`,
      properties: {
        ...(base.properties as JsonObject),
        type: { type: 'string', enum: [v.type] },
        role: { type: 'string', enum: [v.role] },
        config: v.config,
      },
    })),
  })
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite)
    if (!isObject(node)) return node
    const out: JsonObject = {}
    for (const [k, v] of Object.entries(node)) out[k] = rewrite(v)
    const name = out.title ?? out.$id
    if (name === 'DataSourceCreate') return perVariant(out, 'Create')
    if (name === 'UnsavedPreviewRequest') return perVariant(out, 'PreviewRequest')
    if ((name === 'DataSourcePatch' || name === 'DataSource') && isObject(out.properties)) {
      return { ...out, properties: { ...out.properties, config: anyConfig() } }
    }
    return out
  }
  return rewrite(doc) as D
}

/**
 * The DataSource resource is a shared schema (app.addSchema), which the per-route transform above
 * never sees: its `config` is documented as the same union as the PATCH body's, once named.
 */
export function documentResourceConfig<D extends { components?: { schemas?: JsonObject } }> (doc: D): D {
  const schemas = doc.components?.schemas
  const resource = schemas?.DataSource
  const patch = schemas?.DataSourcePatch
  if (!isObject(resource) || !isObject(patch) || !isObject(resource.properties) || !isObject(patch.properties)) return doc
  resource.properties.config = patch.properties.config
  return doc
}
