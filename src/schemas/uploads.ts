import { Type } from 'typebox'
import { Timestamp, Uuid } from './common.js'

export const RejectedRow = Type.Object({ row: Type.Integer(), reason: Type.String() })

export const Upload = Type.Object({
  id: Uuid,
  agentId: Uuid,
  sourceId: Type.Union([Uuid, Type.Null()]),
  syncId: Type.Union([Uuid, Type.Null()]),
  fileName: Type.String(),
  format: Type.Union([Type.String(), Type.Null()]),
  encoding: Type.Union([Type.String(), Type.Null()]),
  bytes: Type.Integer(),
  rowsAccepted: Type.Integer(),
  rowsRejected: Type.Integer(),
  status: Type.Union([Type.Literal('ingested'), Type.Literal('rejected')]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  warnings: Type.Array(Type.String()),
  createdAt: Timestamp,
  rejectedRows: Type.Optional(Type.Array(RejectedRow, { description: 'the first 100 rejected rows with their row numbers' })),
  files: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), {
    description: 'a zip archive: one entry per member (archive.zip!member.csv) with its upload, status, rows and warnings; ' +
      'the answer is the first upload that landed',
  })),
}, { $id: 'Upload' })

export const Item = Type.Object({
  rowNumber: Type.Integer(),
  sku: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  quantity: Type.Union([Type.Number(), Type.Null()]),
  price: Type.Union([Type.Number(), Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()]),
  location: Type.Union([Type.String(), Type.Null()]),
  attributes: Type.Record(Type.String(), Type.Unknown()),
}, { title: 'InventoryItem' })

export const UploadParams = Type.Object({ id: Uuid, uid: Uuid })
