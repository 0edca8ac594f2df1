import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
let otherKey: string

beforeAll(async () => {
  t = await createTestApp()
  otherKey = await t.newOrg('other')
})
afterAll(async () => { await t?.close() })

describe('agents API', () => {
  it('creates an agent with its defaults', async () => {
    const res = await t.api('POST', '/api/v1/agents', { body: { name: 'acme' } })
    expect(res.statusCode).toBe(201)
    const agent = res.json()
    expect(agent).toMatchObject({
      name: 'acme',
      scheduleCron: '0 * * * *',
      timezone: 'UTC',
      rules: { autoPull: true, autoMap: true, onPullFailure: { pendingItem: true, notify: 'all' } },
      mapping: { fieldMap: {}, output: [] },
    })
    expect(agent.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(agent.nextRunAt).getUTCMinutes()).toBe(0)
    expect(agent).not.toHaveProperty('orgId')
  })

  it('validates cron with croner and timezones against IANA', async () => {
    const badCron = await t.api('POST', '/api/v1/agents', { body: { name: 'x', scheduleCron: '61 * * * *' } })
    expect(badCron.statusCode).toBe(400)
    expect(badCron.json()).toMatchObject({ code: 'INVALID_CRON', details: { field: 'scheduleCron' } })
    expect(badCron.json().message).toMatch(/minute/)

    const sixFields = await t.api('POST', '/api/v1/agents', { body: { name: 'x', scheduleCron: '0 0 * * * *' } })
    expect(sixFields.json().code).toBe('INVALID_CRON')

    const never = await t.api('POST', '/api/v1/agents', { body: { name: 'x', scheduleCron: '0 0 31 2 *' } })
    expect(never.json()).toMatchObject({ code: 'INVALID_CRON', message: expect.stringMatching(/never runs/) })

    const badTz = await t.api('POST', '/api/v1/agents', { body: { name: 'x', timezone: 'Mars/Olympus' } })
    expect(badTz.statusCode).toBe(400)
    expect(badTz.json().code).toBe('INVALID_TIMEZONE')

    const ok = await t.api('POST', '/api/v1/agents', { body: { name: 'berlin', scheduleCron: '30 6 * * 1-5', timezone: 'Europe/Berlin' } })
    expect(ok.statusCode).toBe(201)
  })

  it('validates rules and mapping against their schemas and rejects unknown fields', async () => {
    const badRules = await t.api('POST', '/api/v1/agents', { body: { name: 'x', rules: { autoPull: 'yes' } } })
    expect(badRules.statusCode).toBe(400)
    expect(badRules.json().code).toBe('VALIDATION_FAILED')

    const badNotify = await t.api('POST', '/api/v1/agents', { body: { name: 'x', rules: { onPullFailure: { notify: 'some' } } } })
    expect(badNotify.json().code).toBe('VALIDATION_FAILED')

    const unknownField = await t.api('POST', '/api/v1/agents', { body: { name: 'x', schedule: '* * * * *' } })
    expect(unknownField.statusCode).toBe(400)

    const badMap = await t.api('POST', '/api/v1/agents', { body: { name: 'x', mapping: { fieldMap: { colour: 'Farbe' } } } })
    expect(badMap.statusCode).toBe(400)

    const missingName = await t.api('POST', '/api/v1/agents', { body: {} })
    expect(missingName.statusCode).toBe(400)
    expect(missingName.json().message).toMatch(/name/)
  })

  it('patches field by field and keeps the rest of the rule set', async () => {
    const created = (await t.api('POST', '/api/v1/agents', { body: { name: 'patchme', mapping: { fieldMap: { sku: 'Item No' } } } })).json()
    const res = await t.api('PATCH', `/api/v1/agents/${created.id}`, { body: { rules: { autoPull: false }, timezone: 'America/New_York' } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({
      name: 'patchme',
      timezone: 'America/New_York',
      rules: { autoPull: false, autoMap: true, onPullFailure: { pendingItem: true, notify: 'all' } },
      mapping: { fieldMap: { sku: 'Item No' } },
    })
    const bad = await t.api('PATCH', `/api/v1/agents/${created.id}`, { body: { scheduleCron: 'nope' } })
    expect(bad.statusCode).toBe(400)
    const again = (await t.api('GET', `/api/v1/agents/${created.id}`)).json()
    expect(again.scheduleCron).toBe('0 * * * *')
  })

  it('lists with keyset pagination', async () => {
    for (let i = 0; i < 3; i++) await t.api('POST', '/api/v1/agents', { body: { name: `page-${i}` } })
    const all: string[] = []
    let cursor: string | null = null
    do {
      const res = await t.api('GET', `/api/v1/agents?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode).toBe(200)
      const body = res.json()
      all.push(...body.items.map((a: { id: string }) => a.id))
      cursor = body.nextCursor
    } while (cursor)
    expect(new Set(all).size).toBe(all.length)
    expect(all.length).toBeGreaterThanOrEqual(5)
    expect([...all].sort()).toEqual(all)
    const bad = await t.api('GET', '/api/v1/agents?cursor=bm9wZQ')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().details).toEqual({ field: 'cursor' })
  })

  it('answers 404 for another organisation\'s agent on every route, never 403', async () => {
    const mine = (await t.api('POST', '/api/v1/agents', { body: { name: 'private' } })).json()
    for (const [method, body] of [['GET', undefined], ['PATCH', { name: 'stolen' }], ['DELETE', undefined]] as const) {
      const res = await t.api(method, `/api/v1/agents/${mine.id}`, { key: otherKey, body })
      expect(res.statusCode, method).toBe(404)
      expect(res.json().code).toBe('NOT_FOUND')
    }
    const list = (await t.api('GET', '/api/v1/agents', { key: otherKey })).json()
    expect(list.items.map((a: { id: string }) => a.id)).not.toContain(mine.id)
    expect((await t.api('GET', `/api/v1/agents/${mine.id}`)).json().name).toBe('private')
  })

  it('deletes', async () => {
    const a = (await t.api('POST', '/api/v1/agents', { body: { name: 'gone' } })).json()
    expect((await t.api('DELETE', `/api/v1/agents/${a.id}`)).statusCode).toBe(204)
    expect((await t.api('GET', `/api/v1/agents/${a.id}`)).statusCode).toBe(404)
    expect((await t.api('GET', '/api/v1/agents/not-a-uuid')).statusCode).toBe(404)
  })
})
