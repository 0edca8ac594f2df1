import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { Type } from 'typebox'
import { describe, expect, it } from 'vitest'
import { leanSchema, leanSerializerFactory } from '../../../src/plugins/lean-serializer.js'
import { Agent, AgentHealth } from '../../../src/schemas/agents.js'
import { Sync } from '../../../src/schemas/sources.js'

const external = { Sync, Agent }
const Page = Type.Object({ items: Type.Array(Type.Ref('Sync')), nextCursor: Type.Union([Type.String(), Type.Null()]) })
const serialisers = (schema: unknown) => {
  const route = { schema: JSON.parse(JSON.stringify(schema)), method: 'GET', url: '/x', httpStatus: '200' }
  return {
    plain: SerializerSelector()(JSON.parse(JSON.stringify(external)), {})(route),
    lean: leanSerializerFactory()(JSON.parse(JSON.stringify(external)), {})(route),
  }
}

const at = '2026-12-05T03:00:00.000Z'
const sync = (over: Record<string, unknown>) => ({
  id: '0190c1a2-0000-7000-8000-000000000001', sourceId: '0190c1a2-0000-7000-8000-000000000002', direction: 'inbound',
  trigger: 'schedule', status: 'succeeded', startedAt: at, finishedAt: null, durationMs: null, filesCount: 0, bytes: 0,
  rowsAccepted: 0, rowsRejected: 0, ...over,
})

describe('lean response serialiser', () => {
  it('rewrites unions of literals and nullable single types, and leaves other unions alone', () => {
    expect(leanSchema(Type.Union([Type.Literal('a'), Type.Literal('b')], { description: 'd' })))
      .toEqual({ description: 'd', type: 'string', enum: ['a', 'b'] })
    expect(leanSchema(Type.Union([Type.Literal('a'), Type.Null()]))).toEqual({ type: ['string', 'null'], enum: ['a', null] })
    expect(leanSchema(Type.Union([Type.String({ format: 'date-time' }), Type.Null()]))).toEqual({ type: ['string', 'null'], format: 'date-time' })
    expect(leanSchema(Type.Union([Type.Integer(), Type.Null()]))).toEqual({ type: ['integer', 'null'] })
    const mixed = JSON.parse(JSON.stringify(Type.Union([Type.String(), Type.Integer()])))
    expect(leanSchema(mixed)).toEqual(mixed)
  })

  it('writes the same JSON as fast-json-stringify given the schemas as they are', () => {
    const { plain, lean } = serialisers(Page)
    const pages = [
      { items: [], nextCursor: null },
      {
        items: [sync({}), sync({ finishedAt: at, durationMs: 1234, status: 'failed', error: { code: 'S3_ACCESS_DENIED', message: 'no', extra: 1 } }),
          sync({ direction: 'outbound', trigger: 'manual', status: 'running', progress: { filesDone: 3, bytesDone: 10 }, nextAttemptAt: at, attempt: 2 }),
          sync({ error: null, progress: null, nextAttemptAt: null })], nextCursor: 'abc'
      },
    ]
    for (const page of pages) {
      expect(lean(page)).toBe(plain(page))
      expect(JSON.parse(lean(page))).toEqual(page)
    }
  })

  it('keeps a nullable enum (an agent\'s health) as it was', () => {
    const { plain, lean } = serialisers(AgentHealth)
    const health = { sources: 2, lastSyncAt: null, lastSyncStatus: null, failingSources: 0, openPendingItems: 0 }
    expect(lean(health)).toBe(plain(health))
    const synced = { ...health, lastSyncAt: at, lastSyncStatus: 'partial' }
    expect(lean(synced)).toBe(plain(synced))
  })
})
