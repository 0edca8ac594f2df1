import { Type } from 'typebox'
import { Timestamp, Uuid } from './common.js'
import { SHOWN_SYNC_STATUSES, SYNC_TRIGGERS } from '../db/sql/syncs.js'
import { KIND_TYPES } from '../kinds/registry.js'

const Role = Type.Union([Type.Literal('INVENTORY_SOURCE'), Type.Literal('RESULTS_SINK')])
/** The kinds of src/kinds/registry.ts; each kind's config schemas are its folder's (src/kinds/<type>/config.ts). */
export const SourceType = Type.Union(KIND_TYPES.map(t => Type.Literal(t)))

export const SourceCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  role: Role,
  type: SourceType,
  config: Type.Record(Type.String(), Type.Unknown()),
  scheduleCron: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
  enabled: Type.Optional(Type.Boolean()),
  autoPush: Type.Optional(Type.Boolean()),
  validate: Type.Optional(Type.Boolean({ description: 'false skips the save-time validation ping (recorded on the source)' })),
}, { additionalProperties: false })

export const SourcePatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  scheduleCron: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
  enabled: Type.Optional(Type.Boolean()),
  autoPush: Type.Optional(Type.Boolean()),
  validate: Type.Optional(Type.Boolean()),
}, { additionalProperties: false })

export const Source = Type.Object({
  id: Uuid,
  agentId: Uuid,
  name: Type.String(),
  role: Role,
  type: SourceType,
  config: Type.Record(Type.String(), Type.Unknown()),
  scheduleCron: Type.Union([Type.String(), Type.Null()]),
  effectiveScheduleCron: Type.Union([Type.String(), Type.Null()]),
  enabled: Type.Boolean(),
  autoPush: Type.Boolean(),
  validatedAt: Type.Union([Timestamp, Type.Null()]),
  validationSkipped: Type.Boolean(),
  lastTestAt: Type.Union([Timestamp, Type.Null()]),
  lastTestOk: Type.Union([Type.Boolean(), Type.Null()]),
  lastSyncedAt: Type.Union([Timestamp, Type.Null()]),
  nextPullAt: Type.Union([Timestamp, Type.Null()]),
  lastSync: Type.Optional(Type.Union([
    Type.Object({ id: Uuid, status: Type.String(), startedAt: Timestamp, finishedAt: Type.Union([Timestamp, Type.Null()]) }),
    Type.Null(),
  ])),
  redactedSecrets: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  receiveUrl: Type.Optional(Type.String({ description: 'inbound webhook sources: where to POST deliveries (absolute with FERRY_PUBLIC_URL)' })),
  signingSecret: Type.Optional(Type.String({ description: 'a generated whsec_ secret, returned once at creation' })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}, { $id: 'DataSource' })

export const ManifestEntry = Type.Object({
  key: Type.String(),
  etag: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Integer(), Type.Null()]),
  lastModified: Type.Union([Timestamp, Type.Null()]),
  format: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union(['ingested', 'rejected', 'skipped', 'failed', 'delivered'].map(s => Type.Literal(s))),
  rowsAccepted: Type.Integer(),
  rowsRejected: Type.Integer(),
  uploadId: Type.Optional(Type.Union([Uuid, Type.Null()])),
  reason: Type.Optional(Type.String()),
  errors: Type.Optional(Type.Array(Type.Object({ row: Type.Optional(Type.Integer()), message: Type.String() }))),
  attempts: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
}, { additionalProperties: true })

export const Sync = Type.Object({
  id: Uuid,
  sourceId: Uuid,
  direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
  trigger: Type.Union(SYNC_TRIGGERS.map(s => Type.Literal(s))),
  status: Type.Union(SHOWN_SYNC_STATUSES.map(s => Type.Literal(s)), {
    description: '"retrying": a push waiting for its next attempt (see attempt, nextAttemptAt); "cancelled": stopped by an operator',
  }),
  startedAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  filesCount: Type.Integer(),
  bytes: Type.Integer(),
  rowsAccepted: Type.Integer(),
  rowsRejected: Type.Integer(),
  error: Type.Optional(Type.Union([Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }), Type.Null()])),
  progress: Type.Optional(Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()])),
  manifest: Type.Optional(Type.Array(ManifestEntry)),
  attempt: Type.Optional(Type.Integer({ description: 'pushes: attempts made so far' })),
  nextAttemptAt: Type.Optional(Type.Union([Timestamp, Type.Null()], { description: 'pushes: when the next attempt is due (pending or retrying)' })),
}, { $id: 'Sync' })

export const SyncListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'the nextCursor of the previous page' })),
  status: Type.Optional(Type.Union(SHOWN_SYNC_STATUSES.map(s => Type.Literal(s)))),
  trigger: Type.Optional(Type.Union(SYNC_TRIGGERS.map(s => Type.Literal(s)))),
})

export const ResetBody = Type.Object({
  since: Type.Optional(Type.String({
    pattern: '^\\d{4}-\\d{2}-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$', maxLength: 40,
    description: 'ISO date or date-time (a date is midnight UTC): forget only files last modified at or after it; absent: all',
  })),
}, { additionalProperties: false })

export const SourceParams = Type.Object({ id: Uuid, sid: Uuid })
export const SyncParams = Type.Object({ id: Uuid, sid: Uuid, syncId: Uuid })

export const TestResult = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Array(Type.Object({ name: Type.String(), ok: Type.Boolean(), message: Type.String(), durationMs: Type.Integer() })),
})
