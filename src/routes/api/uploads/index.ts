import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Deps } from '../../../deps.js'
import { requireAgent } from '../../../agents/service.js'
import { getUploadOf, landUpload, listUploadItems, listUploadsOf } from '../../../uploads/service.js'
import { AppError } from '../../../errors.js'
import { IdParams, ListOf, Page, errorResponses } from '../../../schemas/common.js'
import { decodeCursor, page } from '../../../util/paging.js'
import { Item, UploadParams } from '../../../schemas/uploads.js'
import { FILE_FORMATS, type FileFormat } from '../../../formats/types.js'
import { actorOf } from '../../../plugins/auth.js'
import { checkParseSettings } from '../../../formats/parse-options.js'
import { parseOverride } from '../../../schemas/parse.js'
import { manifestEntriesOf } from '../../../sync/file-entries.js'

const uploadRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  const { db } = deps
  const UploadRef = Type.Ref('Upload')

  app.post('/agents/:id/inventory/uploads', {
    schema: {
      operationId: 'createUpload',
      tags: ['inventory'],
      summary: 'Upload an inventory file (multipart field "file"; CSV, JSON, NDJSON, XLSX or Parquet, optionally gzipped, or a zip of them)',
      description: 'The file is streamed through the inventory pipeline. Rows that fail validation are rejected with their row number; the rest land. ' +
        'A file that cannot be read at all, yields no rows (NO_ROWS) or has no sku column (NO_SKU_COLUMN) answers 422 with the reason and keeps nothing. ' +
        'An optional multipart field "parse", sent before "file", holds parse options as JSON (docs/formats.md), ' +
        'e.g. {"delimiter":";","decimalSeparator":","}.',
      params: IdParams,
      querystring: Type.Object({ format: Type.Optional(Type.Union(FILE_FORMATS.map(f => Type.Literal(f)))) }),
      consumes: ['multipart/form-data'],
      response: { 201: UploadRef, ...errorResponses(400, 404, 413, 415, 422) },
    },
  }, async (request, reply) => {
    const agent = await requireAgent(db, request.auth.orgId, request.params.id)
    if (!request.isMultipart()) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data in a field named "file".')
    const file = await request.file({ limits: { fileSize: deps.config.limits.maxFileBytes, files: 1 } })
    if (!file || file.fieldname !== 'file') {
      throw new AppError('VALIDATION_FAILED', 'Send the file in a multipart field named "file".', { details: { field: 'file' } })
    }
    // the multipart field "parse" (before "file" in the form: fields after the file are not read yet)
    const field = file.fields.parse
    const parseField = Array.isArray(field) ? field[0] : field
    const parse = checkParseSettings(parseOverride(parseField?.type === 'field' ? String(parseField.value) : undefined, 'parse'), 'parse')
    const fileName = file.filename || 'upload'
    const outcomes = await landUpload(deps, {
      orgId: request.auth.orgId,
      agent,
      stream: file.file,
      fileName,
      contentType: file.mimetype,
      format: request.query.format as FileFormat | undefined,
      parse,
      actor: actorOf(request),
    })
    // whatever the parser did not read (a file refused early) is drained so the request completes
    file.file.resume()
    // a zip archive lands one upload per member: the answer is the first that landed, with every member in `files`
    const result = (outcomes.find(o => o.result?.upload.status === 'ingested') ?? outcomes.find(o => o.result))?.result
    if (file.file.truncated) {
      throw new AppError('FILE_TOO_LARGE', `The file exceeds the maximum size of ${deps.config.limits.maxFileBytes} bytes.`, {
        details: { uploadId: result?.upload.id ?? null },
      })
    }
    if (!result) throw new AppError('INTERNAL') // ingestAll answers at least one upload
    if (result.upload.status === 'rejected') {
      const code = (result.upload.error?.code ?? 'PARSE_FAILED') as AppError['code']
      throw new AppError(code, result.upload.error?.message, { details: { uploadId: result.upload.id } })
    }
    const archive = outcomes.some(o => o.member !== undefined)
    const { seq, ...shown } = result.upload
    return reply.status(201).send({
      ...shown,
      rejectedRows: result.rejected,
      ...(archive ? { files: manifestEntriesOf({ key: fileName, etag: null, size: null, lastModified: null }, outcomes) } : {}),
    })
  })

  app.get('/agents/:id/inventory/uploads', {
    schema: {
      operationId: 'listUploads',
      tags: ['inventory'],
      summary: 'List uploads, newest first',
      params: IdParams,
      querystring: Page,
      response: { 200: ListOf(UploadRef), ...errorResponses(404) },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 50
    const uploads = await listUploadsOf(deps, request.auth.orgId, request.params.id, { limit, before: decodeCursor(request.query.cursor) })
    return page(uploads, limit, ({ seq, ...shown }) => shown)
  })

  app.get('/agents/:id/inventory/uploads/:uid', {
    schema: {
      operationId: 'getUpload',
      tags: ['inventory'],
      summary: 'One upload with its first rejected rows',
      params: UploadParams,
      response: { 200: UploadRef, ...errorResponses(404) },
    },
  }, async (request) => {
    const { upload, rejectedRows } = await getUploadOf(deps, request.auth.orgId, request.params.id, request.params.uid)
    const { seq, ...shown } = upload
    return { ...shown, rejectedRows }
  })

  app.get('/agents/:id/inventory/uploads/:uid/items', {
    schema: {
      operationId: 'listUploadItems',
      tags: ['inventory'],
      summary: 'The upload\'s items in file order (paginated)',
      params: UploadParams,
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        cursor: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
      }),
      response: { 200: ListOf(Item), ...errorResponses(404) },
    },
  }, async (request) => {
    const limit = request.query.limit ?? 100
    const afterRow = request.query.cursor ? Number(request.query.cursor) : undefined
    const items = await listUploadItems(deps, request.auth.orgId, request.params.id, request.params.uid, { limit, afterRow })
    return { items, nextCursor: items.length === limit ? String(items[items.length - 1].rowNumber) : null }
  })
}

export default uploadRoutes
