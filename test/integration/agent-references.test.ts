import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

// issue #14 case 10: references an agent saves are checked at save time
let t: TestApp

beforeAll(async () => {
  // e-mail channels need no network at save time; the SMTP server is never contacted here
  t = await createTestApp({ env: { FERRY_SMTP_URL: 'smtp://127.0.0.1:2525' } })
})
afterAll(async () => {
  await t?.close()
})

const newAgent = async (name: string, key?: string) => {
  const res = await t.api('POST', '/api/v1/agents', { body: { name }, key })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id as string
}
const newChannel = async (agentId: string, key?: string) => {
  const res = await t.api('POST', `/api/v1/agents/${agentId}/channels`, { body: { type: 'email', config: { to: ['ops@example.com'] } }, key })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id as string
}

describe('rules.onPullFailure.notify', () => {
  it('accepts only channels of the agent itself', async () => {
    const agentId = await newAgent('notify-own')
    const own = await newChannel(agentId)
    const sibling = await newChannel(await newAgent('notify-sibling'))
    const otherKey = await t.newOrg('notify-other-org')
    const foreign = await newChannel(await newAgent('foreign', otherKey), otherKey)

    for (const id of [foreign, sibling]) {
      const patched = await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { rules: { onPullFailure: { notify: [own, id] } } } })
      expect(patched.statusCode, patched.body).toBe(400)
      expect(patched.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'rules.onPullFailure.notify[1]' } })
      const created = await t.api('POST', '/api/v1/agents', { body: { name: `with ${id}`, rules: { onPullFailure: { notify: [id] } } } })
      expect(created.statusCode, created.body).toBe(400)
    }
    const ok = await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { rules: { onPullFailure: { notify: [own] } } } })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json().rules.onPullFailure.notify).toEqual([own])
    // the refused requests changed nothing
    const names = (await t.api('GET', '/api/v1/agents?limit=100')).json().items.map((a: { name: string }) => a.name)
    expect(names.filter((n: string) => n.startsWith('with '))).toEqual([])
  })
})

describe('mapping.output', () => {
  it('refuses a from that is neither a canonical field nor attributes.<name>, at save time', async () => {
    const agentId = await newAgent('mapping')
    for (const from of ['__proto__', 'constructor', 'prototype', 'toString', 'skuu', 'attributes.']) {
      const created = await t.api('POST', '/api/v1/agents', { body: { name: `bad ${from}`, mapping: { output: [{ column: 'x', from }] } } })
      expect(created.statusCode, `${from}: ${created.body}`).toBe(400)
      expect(created.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'mapping.output[0].from' } })
      const output = [{ column: 'sku', from: 'sku' }, { column: 'x', from }]
      const patched = await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { mapping: { output } } })
      expect(patched.statusCode, `${from}: ${patched.body}`).toBe(400)
      expect(patched.json().details.field).toBe('mapping.output[1].from')
    }
    const output = [{ column: 'SKU', from: 'sku' }, { column: 'colour', from: 'attributes.__proto__' }]
    const good = await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { mapping: { output } } })
    expect(good.statusCode, good.body).toBe(200)
  })
})
