import { Type } from 'typebox'
import { Literals, SourceType, Timestamp, Uuid } from './common.js'
import { SHOWN_SYNC_STATUSES, SYNC_TRIGGERS } from '../domain/sync.js'
import { FileWarning } from './preview.js'
import { SecretSummary } from './secrets.js'

const Role = Type.Union([Type.Literal('INVENTORY_SOURCE'), Type.Literal('RESULTS_SINK')])
const SyncStatus = Literals(SHOWN_SYNC_STATUSES, {
  description: '"retrying": a push waiting for its next attempt (see attempt, nextAttemptAt); "cancelled": stopped by an operator',
})

export const SourceCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  role: Role,
  type: SourceType,
  config: Type.Record(Type.String(), Type.Unknown()),
  scheduleCron: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
  enabled: Type.Optional(Type.Boolean()),
  autoPush: Type.Optional(Type.Boolean()),
  validate: Type.Optional(Type.Boolean({ description: 'false skips the save-time validation ping (recorded on the source)' })),
}, { title: 'DataSourceCreate', additionalProperties: false })

export const SourcePatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  scheduleCron: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()])),
  enabled: Type.Optional(Type.Boolean()),
  autoPush: Type.Optional(Type.Boolean()),
  validate: Type.Optional(Type.Boolean()),
}, { title: 'DataSourcePatch', additionalProperties: false })

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
    Type.Object({ id: Uuid, status: SyncStatus, startedAt: Timestamp, finishedAt: Type.Union([Timestamp, Type.Null()]) }),
    Type.Null(),
  ])),
  redactedSecrets: Type.Optional(Type.Record(Type.String(), SecretSummary, { description: 'the secrets the config refers to, by config field' })),
  receiveUrl: Type.Optional(Type.String({ description: 'inbound webhook sources: where to POST deliveries (absolute with FERRY_PUBLIC_URL)' })),
  signingSecret: Type.Optional(Type.String({ description: 'a generated whsec_ secret, returned once at creation' })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}, { $id: 'DataSource' })

/** One delivery attempt of a push (src/push/service.ts), oldest first. */
export const ManifestAttempt = Type.Object({
  attempt: Type.Integer(),
  at: Type.Union([Timestamp, Type.Null()], { description: 'null: the worker stopped before it recorded the attempt' }),
  status: Type.Union([Type.Integer(), Type.Null()], { description: 'HTTP status of the answer (webhooks); null without one' }),
  durationMs: Type.Optional(Type.Number()),
  contentType: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'the answer\'s media type; its body is never kept' })),
  contentLength: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  outcome: Type.String({ description: 'delivered, retrying, failed, disabled or unknown' }),
  error: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  retryAfterMs: Type.Optional(Type.Number()),
  nextAttemptAt: Type.Optional(Timestamp),
}, { additionalProperties: true, title: 'ManifestAttempt' })

export const ManifestEntry = Type.Object({
  key: Type.String(),
  etag: Type.Union([Type.String(), Type.Null()]),
  size: Type.Union([Type.Integer(), Type.Null()]),
  lastModified: Type.Union([Timestamp, Type.Null()]),
  format: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('ingested'), Type.Literal('rejected'), Type.Literal('skipped'), Type.Literal('failed'), Type.Literal('delivered')]),
  rowsAccepted: Type.Integer(),
  rowsRejected: Type.Integer(),
  uploadId: Type.Optional(Type.Union([Uuid, Type.Null()])),
  reason: Type.Optional(Type.String({ description: 'why a file was skipped or failed' })),
  errors: Type.Optional(Type.Array(Type.Object({ row: Type.Optional(Type.Integer()), message: Type.String() }),
    { description: 'the first rejected rows (at most 100)' })),
  code: Type.Optional(Type.String({ description: 'why a file was refused whole: NO_ROWS, NO_SKU_COLUMN, PARSE_FAILED, …' })),
  warnings: Type.Optional(Type.Array(FileWarning)),
  attempts: Type.Optional(Type.Array(ManifestAttempt, { description: 'pushes: every delivery attempt' })),
  nextAttemptAt: Type.Optional(Type.Union([Timestamp, Type.Null()], { description: 'pushes: when the next attempt is due while retrying' })),
  state: Type.Optional(Type.String({ description: 'pushes: delivery state (delivered, retrying, failed, disabled)' })),
  jobId: Type.Optional(Uuid),
}, { additionalProperties: true, title: 'ManifestEntry' })

/** Live counters of a running pull. */
export const SyncProgress = Type.Object({
  filesListed: Type.Optional(Type.Integer()),
  filesDone: Type.Optional(Type.Integer()),
  filesTotal: Type.Optional(Type.Integer()),
  bytesDone: Type.Optional(Type.Integer()),
  bytesTotal: Type.Optional(Type.Integer()),
}, { additionalProperties: true, title: 'SyncProgress' })

export const Sync = Type.Object({
  id: Uuid,
  sourceId: Uuid,
  direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
  trigger: Literals(SYNC_TRIGGERS),
  status: SyncStatus,
  startedAt: Timestamp,
  finishedAt: Type.Union([Timestamp, Type.Null()]),
  durationMs: Type.Union([Type.Integer(), Type.Null()]),
  filesCount: Type.Integer(),
  bytes: Type.Integer(),
  rowsAccepted: Type.Integer(),
  rowsRejected: Type.Integer(),
  error: Type.Optional(Type.Union([Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true }), Type.Null()])),
  progress: Type.Optional(Type.Union([SyncProgress, Type.Null()])),
  manifest: Type.Optional(Type.Array(ManifestEntry)),
  attempt: Type.Optional(Type.Integer({ description: 'pushes: attempts made so far' })),
  nextAttemptAt: Type.Optional(Type.Union([Timestamp, Type.Null()], { description: 'pushes: when the next attempt is due (pending or retrying)' })),
}, { $id: 'Sync' })

export const SyncListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'the nextCursor of the previous page' })),
  status: Type.Optional(Literals(SHOWN_SYNC_STATUSES)),
  trigger: Type.Optional(Literals(SYNC_TRIGGERS)),
})

export const ResetBody = Type.Object({
  since: Type.Optional(Type.String({
    pattern: '^\\d{4}-\\d{2}-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?$', maxLength: 40,
    description: 'ISO date or date-time (a date is midnight UTC): forget only files last modified at or after it; absent: all',
  })),
}, { title: 'LedgerReset', additionalProperties: false })

export const SourceParams = Type.Object({ id: Uuid, sid: Uuid })
export const SyncParams = Type.Object({ id: Uuid, sid: Uuid, syncId: Uuid })

export const TestResult = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Array(Type.Object({ name: Type.String(), ok: Type.Boolean(), message: Type.String(), durationMs: Type.Integer() }, { title: 'TestCheck' })),
}, { title: 'TestResult' })
