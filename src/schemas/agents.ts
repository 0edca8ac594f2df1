import { Type, type Static } from 'typebox'
import { CANONICAL_FIELDS } from '../domain/agent.js'
import { Literals, Timestamp, Uuid } from './common.js'
import { SHOWN_SYNC_STATUSES, type ShownSyncStatus } from '../domain/sync.js'

const Notify = Type.Union([Type.Literal('all'), Type.Array(Uuid, { maxItems: 50 })],
  { description: '"all" channels of the agent, or a list of channel ids' })

export const RulesInput = Type.Object({
  autoPull: Type.Optional(Type.Boolean({ description: 'pull sources on their schedule' })),
  autoMap: Type.Optional(Type.Boolean({ description: 'start a mapping job after every upload' })),
  onPullFailure: Type.Optional(Type.Object({
    pendingItem: Type.Optional(Type.Boolean({ description: 'file a DATA_SOURCE_PULL_FAILED pending item' })),
    notify: Type.Optional(Notify),
  }, { additionalProperties: false })),
}, { title: 'RulesInput', additionalProperties: false })

export const Rules = Type.Object({
  autoPull: Type.Boolean(),
  autoMap: Type.Boolean(),
  onPullFailure: Type.Object({ pendingItem: Type.Boolean(), notify: Notify }),
}, { title: 'Rules' })

const FieldMap = Type.Object(
  Object.fromEntries(CANONICAL_FIELDS.map(f => [f, Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))])),
  { additionalProperties: false, description: 'canonical field → column name in the files, e.g. { "sku": "Item No" }' })

const OutputColumn = Type.Object({
  column: Type.String({ minLength: 1, maxLength: 200 }),
  from: Type.String({ minLength: 1, maxLength: 200, description: 'a canonical field or attributes.<name>' }),
  transform: Type.Optional(Literals(['upper', 'lower', 'trim', 'number', 'string'])),
}, { title: 'OutputColumn', additionalProperties: false })

// the XLSX sheet is chosen per source now (config.parse.sheet, docs/formats.md); migration 010 moved mapping.sheetName there
export const MappingInput = Type.Object({
  fieldMap: Type.Optional(Type.Union([FieldMap, Type.Null()], { description: 'null clears it' })),
  output: Type.Optional(Type.Array(OutputColumn, { maxItems: 500 })),
}, { title: 'MappingInput', additionalProperties: false })

export const Mapping = Type.Object({
  fieldMap: Type.Record(Type.String(), Type.String()),
  output: Type.Array(OutputColumn),
}, { title: 'Mapping' })

export const AgentCreate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  scheduleCron: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'five-field cron, default "0 * * * *"' })),
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'IANA timezone, default "UTC"' })),
  rules: Type.Optional(RulesInput),
  mapping: Type.Optional(MappingInput),
}, { title: 'AgentCreate', additionalProperties: false })
export type AgentCreate = Static<typeof AgentCreate>

export const AgentPatch = Type.Partial(AgentCreate, { additionalProperties: false, title: 'AgentPatch' })
export type AgentPatch = Static<typeof AgentPatch>

export const AgentHealth = Type.Object({
  sources: Type.Integer({ description: 'data sources and sinks of the agent' }),
  lastSyncAt: Type.Union([Timestamp, Type.Null()], { description: 'start of the most recent sync of any of its sources' }),
  lastSyncStatus: Type.Unsafe<ShownSyncStatus | null>(Type.Union([...SHOWN_SYNC_STATUSES.map(s => Type.Literal(s)), Type.Null()],
    { description: 'worst of each source\'s latest sync (failed > partial > retrying > running > cancelled > succeeded); null: no syncs yet' })),
  failingSources: Type.Integer({ description: 'sources whose latest sync failed' }),
  openPendingItems: Type.Integer(),
}, { title: 'AgentHealth', description: 'present in the agents list only' })

export const Agent = Type.Object({
  id: Uuid,
  name: Type.String(),
  scheduleCron: Type.String(),
  timezone: Type.String(),
  rules: Rules,
  mapping: Mapping,
  nextRunAt: Type.Union([Timestamp, Type.Null()]),
  health: Type.Optional(AgentHealth),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}, { $id: 'Agent' })
