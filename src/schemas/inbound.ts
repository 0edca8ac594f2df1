import { Type } from 'typebox'
import { Uuid } from './common.js'

export const InboundParams = Type.Object({ sourceId: Uuid })

export const InboundAnswer = Type.Object({
  syncId: Type.Union([Uuid, Type.Null()]),
  status: Type.Union([
    Type.Literal('running'), Type.Literal('retrying'), Type.Literal('succeeded'), Type.Literal('partial'), Type.Literal('failed'),
    Type.Literal('cancelled'), Type.Null(),
  ]),
  duplicate: Type.Boolean({ description: 'true when this webhook-id was received before: nothing was ingested again' }),
  uploadId: Type.Union([Uuid, Type.Null()]),
  fileName: Type.Union([Type.String(), Type.Null()]),
  format: Type.Union([Type.String(), Type.Null()]),
  bytes: Type.Integer(),
  rowsAccepted: Type.Integer(),
  rowsRejected: Type.Integer(),
  errors: Type.Array(Type.Object({ row: Type.Optional(Type.Integer()), message: Type.String() }), { description: 'the first rejected rows (at most 100)' }),
  files: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()),
    { description: 'the manifest entries of the delivery: one, or one per member of a zip archive (with warnings such as UNMAPPED_COLUMNS)' })),
}, { title: 'InboundDeliveryResult' })
