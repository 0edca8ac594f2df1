import { Type } from 'typebox'
import { Timestamp, Uuid } from './common.js'

export const PendingItemSchema = Type.Object({
  id: Uuid,
  agentId: Uuid,
  sourceId: Uuid,
  type: Type.Union([Type.Literal('DATA_SOURCE_PULL_FAILED'), Type.Literal('DATA_SOURCE_PUSH_FAILED')]),
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  message: Type.String({ description: 'what failed and what to do about it' }),
  occurrences: Type.Integer({ minimum: 1, description: 'failures counted while the item was open' }),
  firstSeenAt: Timestamp,
  lastSeenAt: Timestamp,
  resolvedAt: Type.Union([Timestamp, Type.Null()]),
  resolution: Type.Union([Type.Literal('manual'), Type.Literal('auto'), Type.Null()]),
}, { $id: 'PendingItem' })

export const PendingItemParams = Type.Object({ id: Uuid, pid: Uuid })

export const PendingItemQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
})
