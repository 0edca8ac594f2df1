import { Type } from 'typebox'
import { RESULT_FORMATS } from '../formats/catalogue.js'
import { Literals, Timestamp, Uuid } from './common.js'

const JobStatus = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')])

export const Job = Type.Object({
  id: Uuid,
  agentId: Uuid,
  uploadId: Uuid,
  upload: Type.Optional(Type.Object({
    fileName: Type.String(),
    sourceId: Type.Union([Uuid, Type.Null()]),
    sourceName: Type.Union([Type.String(), Type.Null()], { description: 'null for a manual upload or a deleted source' }),
  }, { description: 'the file the job maps and where it came from' })),
  status: JobStatus,
  trigger: Type.Union([Type.Literal('manual'), Type.Literal('auto_map')], { description: 'auto_map: started by the agent\'s rules.autoMap after an upload' }),
  rows: Type.Integer({ description: 'result rows (set when the job succeeded)' }),
  columns: Type.Array(Type.String(), { description: 'the result columns, in order (from agent.mapping.output when the job was created)' }),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  createdAt: Timestamp,
  startedAt: Type.Union([Timestamp, Type.Null()]),
  finishedAt: Type.Union([Timestamp, Type.Null()]),
}, { title: 'Job' })

export const JobCreate = Type.Object({ uploadId: Uuid }, { additionalProperties: false, title: 'JobCreate' })

export const JobParams = Type.Object({ id: Uuid, jobId: Uuid })

export const JobListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  uploadId: Type.Optional(Uuid),
  status: Type.Optional(JobStatus),
})

export const ResultsQuery = Type.Object({
  format: Type.Optional(Literals(RESULT_FORMATS, { description: 'default json' })),
})

export const PushBody = Type.Object({ jobId: Uuid }, { additionalProperties: false, title: 'PushRequest' })
