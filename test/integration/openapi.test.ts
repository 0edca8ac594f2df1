import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTE_ACCESS } from '../../src/auth/roles.js'
import { kinds } from '../../src/kinds/registry.js'
import { nameComponents, openApiOptions } from '../../src/openapi.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

interface Operation {
  operationId?: string
  security?: Array<Record<string, string[]>>
  responses: Record<string, { $ref?: string, content?: Record<string, { schema?: { $ref?: string } }> }>
}
interface Document {
  servers: Array<{ url: string }>
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown>, responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }> }
}

let t: TestApp
let doc: Document
let operations: Array<{ name: string, path: string, op: Operation }>
beforeAll(async () => {
  t = await createTestApp()
  doc = (await t.api('GET', '/docs/json', { key: null })).json()
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, path, op })))
})
afterAll(async () => { await t?.close() })

// what `npm run lint:openapi` (redocly) does not check: Ferry's own conventions (docs/api.md)
describe('the OpenAPI document', () => {
  it('names every operation, once, with a camelCase verb', () => {
    const ids = operations.map(o => o.op.operationId)
    expect(operations.filter(o => !o.op.operationId).map(o => o.name), 'operations without an operationId').toEqual([])
    expect(ids.filter(id => !/^[a-z]+[A-Z][A-Za-z]*$/.test(id!)), 'not verbNoun camelCase').toEqual([])
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('asks for no API key exactly where the role table asks for none', () => {
    const anonymous = (o: Operation) => o.security !== undefined && (o.security.length === 0 || o.security.some(s => Object.keys(s).length === 0))
    const keyless = (name: string) => {
      const [method, path] = name.split(' ')
      if (!path.startsWith('/api/v1/')) return true // ops routes: /healthz, /readyz, /metrics
      return ROUTE_ACCESS[`${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`] === 'public'
    }
    for (const { name, op } of operations) expect(anonymous(op), name).toBe(keyless(name))
  })

  it('documents the 4xx answers of each operation with the shared error shape', () => {
    const liveness = ['GET /healthz', 'GET /readyz']
    for (const { name, op } of operations) {
      // 503 of /readyz is its status report, not an error
      const errors = Object.keys(op.responses).filter(s => /^4|^500$/.test(s))
      if (!liveness.includes(name)) expect(errors.some(s => s.startsWith('4')), `${name} has no 4xx answer`).toBe(true)
      for (const status of errors) {
        const answer = op.responses[status]
        const schema = answer.$ref
          ? doc.components.responses[answer.$ref.replace('#/components/responses/', '')].content['application/json'].schema
          : Object.values(answer.content ?? {})[0]?.schema
        expect(schema?.$ref, `${name} ${status}`).toBe('#/components/schemas/ErrorResponse')
      }
    }
  })

  it('names every component schema', () => {
    const names = Object.keys(doc.components.schemas)
    expect(names.filter(n => !/^[A-Z][A-Za-z0-9]*$/.test(n))).toEqual([])
    for (const name of ['Agent', 'DataSource', 'Sync', 'ErrorResponse']) expect(names).toContain(name)
  })

  it('documents each kind\'s config per (type, role): the create body is one variant each, with every field', () => {
    const create = operations.find(o => o.op.operationId === 'createDataSource')!.op as unknown as {
      requestBody: { content: { 'application/json': { schema: { oneOf: Array<{ $ref: string }> } } } }
    }
    const variants = create.requestBody.content['application/json'].schema.oneOf.map(v => doc.components.schemas[v.$ref.split('/').pop()!]) as
      Array<{ properties: { type: { enum: string[] }, role: { enum: string[] }, config: { $ref: string } } }>
    const expected = kinds().flatMap(k => Object.keys(k.roles).map(role => `${k.type} ${role}`)).sort()
    expect(variants.map(v => `${v.properties.type.enum[0]} ${v.properties.role.enum[0]}`).sort()).toEqual(expected)
    for (const v of variants) {
      const config = doc.components.schemas[v.properties.config.$ref.split('/').pop()!] as { properties: Record<string, { description?: string }> }
      const undocumented = Object.entries(config.properties).filter(([, field]) => !field.description && !('$ref' in field) && !('allOf' in field))
      expect(undocumented.map(([name]) => name), `${v.properties.config.$ref}: fields without a description`).toEqual([])
    }
    const resource = doc.components.schemas.DataSource as { properties: { config: { oneOf: unknown[] } } }
    expect(resource.properties.config.oneOf.length).toBeGreaterThanOrEqual(kinds().length)
  })

  it('is served relative to itself unless FERRY_PUBLIC_URL is set', () => {
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })])
    const servers = openApiOptions({ publicUrl: 'https://ferry.example.com/base' }).openapi?.servers
    expect(servers).toEqual([expect.objectContaining({ url: 'https://ferry.example.com/base' })])
  })
})

describe('nameComponents', () => {
  const titled = { title: 'Thing', type: 'object', properties: { a: { type: 'string' } } }
  it('turns a titled inline schema into a component, nullable uses included', () => {
    const out = nameComponents({
      paths: { '/x': { get: { responses: { 200: { content: { 'application/json': { schema: { type: 'array', items: titled } } } } } } } },
      components: { schemas: { Holder: { type: 'object', properties: { t: { ...titled, nullable: true } } } } },
    })
    expect(out.components?.schemas).toEqual({
      Holder: { type: 'object', properties: { t: { type: 'object', allOf: [{ $ref: '#/components/schemas/Thing' }], nullable: true } } },
      Thing: titled,
    })
    expect(JSON.stringify(out.paths)).toContain('{"type":"array","items":{"$ref":"#/components/schemas/Thing"}}')
  })

  it('refuses one title on two different schemas', () => {
    expect(() => nameComponents({
      paths: {},
      components: { schemas: { A: { type: 'object', properties: { x: titled, y: { ...titled, properties: {} } } } } },
    })).toThrow(/two different schemas are titled "Thing"/)
  })
})
