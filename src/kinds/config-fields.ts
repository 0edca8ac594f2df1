import { Type } from 'typebox'
import { FILE_FORMATS, type FileFormat } from '../formats/catalogue.js'
import { ParseConfig, SourceFieldMap } from '../schemas/parse.js'

/** Config fields several kinds share, described once (their schemas are the OpenAPI's config union). */

// Unsafe: a union mapped from a list would type as never; the schema is the same union
export const Format = (description: string) => Type.Unsafe<FileFormat>(Type.Union(FILE_FORMATS.map(f => Type.Literal(f)), { description }))

/** The id of a vault entry (a secretRef), with what it must hold. */
export const SecretId = (description: string) =>
  Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description })

export const PushEmpty = Type.Boolean({ description: 'sinks: push a job with no result rows too (default false: such a push is recorded as skipped)' })

/** How an inventory source's files are read (docs/formats.md); `null` clears a setting in a PATCH. */
export const ImportOptions = {
  parse: Type.Optional(Type.Union([ParseConfig, Type.Null()], { description: 'inventory sources: parse options (docs/formats.md)' })),
  fieldMap: Type.Optional(Type.Union([SourceFieldMap, Type.Null()])),
}
