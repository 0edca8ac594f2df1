import { Type } from 'typebox'
import { Item } from './uploads.js'
import { ParseConfig, SourceFieldMap } from './parse.js'
import { SourceType } from './common.js'

/** A warning on a file that landed (or would): the manifest lists them and the UI shows the file amber. */
export const FileWarning = Type.Object({
  code: Type.String({ description: 'UNMAPPED_COLUMNS, ENCODING_FALLBACK or PARSE_WARNING' }),
  message: Type.String(),
  columns: Type.Optional(Type.Array(Type.String())),
}, { title: 'FileWarning' })

export const SavedPreviewBody = Type.Object({
  key: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 'an object key, or archive.zip!member.csv; default the newest matching file' })),
  parse: Type.Optional(Type.Union([ParseConfig, Type.Null()], { description: 'parse options to try over the source\'s, without saving them' })),
  fieldMap: Type.Optional(Type.Union([SourceFieldMap, Type.Null()], { description: 'a field map to try over the source\'s' })),
}, { title: 'PreviewRequest', additionalProperties: false })

export const UnsavedPreviewBody = Type.Object({
  type: SourceType,
  role: Type.Union([Type.Literal('INVENTORY_SOURCE'), Type.Literal('RESULTS_SINK')]),
  config: Type.Record(Type.String(), Type.Unknown()),
  key: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
}, { title: 'UnsavedPreviewRequest', additionalProperties: false })

export const Preview = Type.Object({
  file: Type.Object({
    key: Type.String(),
    size: Type.Integer(),
    format: Type.String(),
    encoding: Type.Union([Type.String(), Type.Null()]),
    sheet: Type.Optional(Type.String()),
  }),
  sheets: Type.Optional(Type.Array(Type.String())),
  columns: Type.Array(Type.Object({ header: Type.String(), field: Type.Union([Type.String(), Type.Null()]) })),
  rows: Type.Array(Type.Object({ row: Type.Integer(), ...Type.Omit(Item, ['rowNumber']).properties }),
    { description: 'the first 20 items as they would land' }),
  rejected: Type.Array(Type.Object({ row: Type.Integer(), reason: Type.String() })),
  warnings: Type.Array(FileWarning),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() },
    { description: 'the file would be refused whole (NO_ROWS, NO_SKU_COLUMN, …)' })),
}, { title: 'Preview' })
