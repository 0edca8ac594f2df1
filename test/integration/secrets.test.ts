import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../../src/app.js'
import { AppError } from '../../src/errors.js'
import { openVault } from '../../src/vault/vault.js'
import type { SecretValues } from '../../src/vault/secret.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
let otherKey: string

const AWS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

beforeAll(async () => {
  t = await createTestApp()
  otherKey = await t.newOrg('other')
})
afterAll(async () => { await t?.close() })

const orgOf = async (secretId: string): Promise<string> =>
  (await t.database.db.query<{ org_id: string }>('SELECT org_id FROM secrets WHERE id = $1', [secretId])).rows[0].org_id

/** The stored value, decrypted by the running vault (the only way to see it). */
async function reveal<K extends keyof SecretValues> (secretId: string, type: K): Promise<SecretValues[K]> {
  return t.runtime.deps.vault.withSecret(t.database.db, await orgOf(secretId), secretId, type, async s => s.reveal())
}

async function create (body: unknown, key?: string) {
  return t.api('POST', '/api/v1/secrets', { body, key })
}

describe('secrets API', () => {
  it('creates an aws secret and shows it redacted (docs/security.md)', async () => {
    const res = await create({ name: 'acme-s3', type: 'aws', value: AWS })
    expect(res.statusCode).toBe(201)
    const secret = res.json()
    expect(secret).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'acme-s3',
      type: 'aws',
      redacted: { accessKeyId: 'mt_byo_****MPLE', secretAccessKey: 'mt_byo_****EKEY' },
      createdAt: expect.any(String),
      rotatedAt: null,
    })
    expect(res.body).not.toContain(AWS.secretAccessKey)
    expect(res.body).not.toContain(AWS.accessKeyId)

    const got = await t.api('GET', `/api/v1/secrets/${secret.id}`)
    expect(got.statusCode).toBe(200)
    expect(got.json()).toEqual(secret)
    const list = (await t.api('GET', '/api/v1/secrets')).json()
    expect(list.items).toContainEqual(secret)

    // round trip: what comes out of the vault is exactly what went in
    expect(await reveal(secret.id, 'aws')).toEqual(AWS)
  })

  it('keeps an optional session token and redacts it too', async () => {
    const res = await create({ name: 'sts', type: 'aws', value: { ...AWS, sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN/abcd' } })
    expect(res.statusCode).toBe(201)
    expect(res.json().redacted).toEqual({ accessKeyId: 'mt_byo_****MPLE', secretAccessKey: 'mt_byo_****EKEY', sessionToken: 'mt_byo_****abcd' })
    expect((await reveal(res.json().id, 'aws')).sessionToken).toBe('IQoJb3JpZ2luX2VjEXAMPLETOKEN/abcd')
  })

  it('generates a webhook signing secret when none is given and returns it exactly once', async () => {
    const res = await create({ name: 'inbound-hook', type: 'webhook' })
    expect(res.statusCode).toBe(201)
    const body = res.json()
    expect(body.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
    expect(Buffer.from(body.signingSecret.slice(6), 'base64')).toHaveLength(24)
    expect(body.redacted).toEqual({ signingSecret: `mt_byo_****${body.signingSecret.slice(-4)}` })
    expect(await reveal(body.id, 'webhook')).toEqual({ signingSecret: body.signingSecret })

    const got = await t.api('GET', `/api/v1/secrets/${body.id}`)
    expect(got.json()).not.toHaveProperty('signingSecret')
    expect(got.body).not.toContain(body.signingSecret)
    const list = await t.api('GET', '/api/v1/secrets')
    expect(list.body).not.toContain(body.signingSecret)

    // a given value is stored and never echoed
    const given = 'whsec_' + Buffer.alloc(32, 9).toString('base64')
    const own = await create({ name: 'own-hook', type: 'webhook', value: { signingSecret: given } })
    expect(own.statusCode).toBe(201)
    expect(own.json()).not.toHaveProperty('signingSecret')
    expect(own.body).not.toContain(given)
    expect(await reveal(own.json().id, 'webhook')).toEqual({ signingSecret: given })
  })

  it('stores http_header secrets, header name in clear', async () => {
    const res = await create({ name: 'bearer', type: 'http_header', value: { name: 'Authorization', value: 'Bearer tok_live_123456789' } })
    expect(res.statusCode).toBe(201)
    expect(res.json().redacted).toEqual({ name: 'Authorization', value: 'mt_byo_****6789' })
    expect(await reveal(res.json().id, 'http_header')).toEqual({ name: 'Authorization', value: 'Bearer tok_live_123456789' })
  })

  it('validates each type\'s value, naming the field and never echoing the value', async () => {
    const cases: Array<[unknown, string]> = [
      [{ name: 'x', type: 'aws' }, 'value'],
      [{ name: 'x', type: 'aws', value: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE' } }, 'value.secretAccessKey'],
      [{ name: 'x', type: 'aws', value: { ...AWS, region: 'eu-west-1' } }, 'value'],
      [{ name: 'x', type: 'aws', value: { ...AWS, secretAccessKey: 'sEcReTvAlUe-with-trailing-space ' } }, 'value.secretAccessKey'],
      [{ name: 'x', type: 'aws', value: { ...AWS, secretAccessKey: 'sEcReT vAlUe' } }, 'value.secretAccessKey'],
      [{ name: 'x', type: 'aws', value: { ...AWS, accessKeyId: 'AK' } }, 'value.accessKeyId'],
      [{ name: 'x', type: 'webhook', value: { signingSecret: 'sEcReTvAlUe-no-prefix' } }, 'value.signingSecret'],
      [{ name: 'x', type: 'webhook', value: { signingSecret: 'whsec_sEcReTvAlUe!!not-base64' } }, 'value.signingSecret'],
      [{ name: 'x', type: 'webhook', value: { signingSecret: 'whsec_' + Buffer.from('sEcReTvAlUe').toString('base64') } }, 'value.signingSecret'],
      [{ name: 'x', type: 'webhook', value: { signingSecret: 'whsec_' } }, 'value.signingSecret'],
      [{ name: 'x', type: 'http_header', value: { name: 'Bad Header', value: 'sEcReTvAlUe' } }, 'value.name'],
      [{ name: 'x', type: 'http_header', value: { name: 'X-Key', value: 'sEcReTvAlUe\r\nX-Evil: 1' } }, 'value.value'],
      [{ name: 'x', type: 'http_header', value: { name: 'Host', value: 'sEcReTvAlUe' } }, 'value.name'],
      [{ name: 'x', type: 'http_header', value: { name: 'X-Key' } }, 'value.value'],
      [{ name: '   ', type: 'http_header', value: { name: 'X-Key', value: 'sEcReTvAlUe' } }, 'name'],
    ]
    for (const [body, field] of cases) {
      const res = await create(body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json(), JSON.stringify(body)).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } })
      expect(res.body).not.toContain('sEcReTvAlUe')
    }
    // the envelope is checked by the schema
    for (const body of [
      { name: 'x', type: 'ftp', value: AWS },
      { name: 'x', type: 'aws', value: { accessKeyId: { nested: 'sEcReTvAlUe' }, secretAccessKey: 'sEcReTvAlUe' } },
      { name: 'x', type: 'aws', value: ['sEcReTvAlUe'] },
      { name: 'x', type: 'aws', value: AWS, extra: true },
      { name: 'x', type: 'aws', value: { ...AWS, secretAccessKey: 'sEcReTvAlUe'.repeat(1000) } },
    ]) {
      const res = await create(body)
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400)
      expect(res.json().code).toBe('VALIDATION_FAILED')
      expect(res.body).not.toContain('sEcReTvAlUe')
    }
  })

  it('refuses a second secret with the same name in one organisation (409), not across organisations', async () => {
    expect((await create({ name: 'dup', type: 'webhook' })).statusCode).toBe(201)
    const again = await create({ name: 'dup', type: 'webhook' })
    expect(again.statusCode).toBe(409)
    expect(again.json()).toMatchObject({ code: 'CONFLICT', details: { field: 'name' } })
    expect((await create({ name: 'dup', type: 'webhook' }, otherKey)).statusCode).toBe(201)
  })

  it('PATCH renames without touching rotatedAt; a new value is validated against the type and stamps rotatedAt', async () => {
    const created = (await create({ name: 'to-rotate', type: 'aws', value: AWS })).json()

    const renamed = await t.api('PATCH', `/api/v1/secrets/${created.id}`, { body: { name: 'rotating' } })
    expect(renamed.statusCode).toBe(200)
    expect(renamed.json()).toMatchObject({ name: 'rotating', rotatedAt: null, redacted: created.redacted })

    const wrongShape = await t.api('PATCH', `/api/v1/secrets/${created.id}`, {
      body: { value: { signingSecret: 'whsec_' + Buffer.alloc(24).toString('base64') } },
    })
    expect(wrongShape.statusCode).toBe(400)
    expect(wrongShape.json().code).toBe('VALIDATION_FAILED')
    const partial = await t.api('PATCH', `/api/v1/secrets/${created.id}`, { body: { value: { accessKeyId: 'AKIANEWNEWNEWNEW1234' } } })
    expect(partial.statusCode).toBe(400)
    expect(partial.json().details).toEqual({ field: 'value.secretAccessKey' })
    expect((await t.api('PATCH', `/api/v1/secrets/${created.id}`, { body: {} })).statusCode).toBe(400)
    expect(await reveal(created.id, 'aws')).toEqual(AWS) // failed PATCHes changed nothing

    const next = { accessKeyId: 'AKIANEWNEWNEWNEW1234', secretAccessKey: 'newSecretKeyValue/0987654321/ZYXW' }
    const rotated = await t.api('PATCH', `/api/v1/secrets/${created.id}`, { body: { value: next } })
    expect(rotated.statusCode).toBe(200)
    const body = rotated.json()
    expect(body).toMatchObject({ name: 'rotating', redacted: { accessKeyId: 'mt_byo_****1234', secretAccessKey: 'mt_byo_****ZYXW' } })
    expect(Date.parse(body.rotatedAt)).toBeGreaterThanOrEqual(Date.parse(body.createdAt))
    expect(rotated.body).not.toContain(next.secretAccessKey)
    expect(await reveal(created.id, 'aws')).toEqual(next)

    const clash = await t.api('PATCH', `/api/v1/secrets/${created.id}`, { body: { name: 'acme-s3' } })
    expect(clash.statusCode).toBe(409)
  })

  it('a new value gets a new data key and nonce; the old ciphertext is gone', async () => {
    const created = (await create({ name: 'rekey', type: 'webhook' })).json()
    const sealed = async () =>
      (await t.database.db.query<Record<string, Uint8Array>>('SELECT ciphertext, nonce, wrapped_key FROM secrets WHERE id = $1', [created.id])).rows[0]
    const before = await sealed()
    await t.api('PATCH', `/api/v1/secrets/${created.id}`, { body: { value: { signingSecret: 'whsec_' + Buffer.alloc(24, 1).toString('base64') } } })
    const after = await sealed()
    for (const col of ['ciphertext', 'nonce', 'wrapped_key']) expect(Buffer.from(after[col]).equals(Buffer.from(before[col])), col).toBe(false)
  })

  it('answers 404 for another organisation\'s secret on every route, never 403', async () => {
    const mine = (await create({ name: 'private', type: 'aws', value: AWS })).json()
    for (const [method, body] of [['GET', undefined], ['PATCH', { name: 'stolen' }], ['PATCH', { value: AWS }], ['DELETE', undefined]] as const) {
      const res = await t.api(method, `/api/v1/secrets/${mine.id}`, { key: otherKey, body })
      expect(res.statusCode, method).toBe(404)
      expect(res.json().code).toBe('NOT_FOUND')
    }
    const list = (await t.api('GET', '/api/v1/secrets', { key: otherKey })).json()
    expect(list.items.map((s: { id: string }) => s.id)).not.toContain(mine.id)
    expect((await t.api('GET', `/api/v1/secrets/${mine.id}`)).json().name).toBe('private')
    expect((await t.api('GET', '/api/v1/secrets/not-a-uuid')).statusCode).toBe(404)

    // the service: another org's id is not found either, even for decryption
    const otherOrg = (await t.database.db.query<{ id: string }>(`SELECT id FROM organisations WHERE name = 'other'`)).rows[0].id
    await expect(t.runtime.deps.vault.withSecret(t.database.db, otherOrg, mine.id, 'aws', async () => 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('lists with keyset pagination', async () => {
    for (let i = 0; i < 3; i++) await create({ name: `page-${i}`, type: 'webhook' })
    const all: string[] = []
    let cursor: string | null = null
    do {
      const res = await t.api('GET', `/api/v1/secrets?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(res.statusCode).toBe(200)
      all.push(...res.json().items.map((s: { id: string }) => s.id))
      cursor = res.json().nextCursor
    } while (cursor)
    expect(new Set(all).size).toBe(all.length)
    expect(all.length).toBeGreaterThanOrEqual(5)
    expect([...all].sort()).toEqual(all)
  })

  it('deletes', async () => {
    const s = (await create({ name: 'gone', type: 'webhook' })).json()
    expect((await t.api('DELETE', `/api/v1/secrets/${s.id}`)).statusCode).toBe(204)
    expect((await t.api('GET', `/api/v1/secrets/${s.id}`)).statusCode).toBe(404)
    expect((await t.api('DELETE', `/api/v1/secrets/${s.id}`)).statusCode).toBe(404)
  })

  it('DELETE of a secret in use answers 409 SECRET_IN_USE naming the sources, and keeps the secret', async () => {
    const s = (await create({ name: 'used', type: 'aws', value: AWS })).json()
    // what the composition root will wire once data sources exist
    const users = () => [{ id: '00000000-0000-7000-8000-000000000001', name: 'daily drops' }, { id: '00000000-0000-7000-8000-000000000002', name: 'results' }]
    const vault = await openVault(t.database.db, t.config.masterKey!, {
      findSecretUsers: async (q, orgId, secretId) => {
        const { rows } = await q.query<{ n: number }>('SELECT count(*) AS n FROM secrets WHERE org_id = $1 AND id = $2', [orgId, secretId])
        return rows[0].n > 0 && secretId === s.id ? users() : []
      },
    })
    const app = await buildApp({ ...t.runtime.deps, vault })
    try {
      const res = await app.inject({ method: 'DELETE', url: `/api/v1/secrets/${s.id}`, headers: { authorization: `Bearer ${t.adminKey}` } })
      expect(res.statusCode).toBe(409)
      expect(res.json()).toEqual({
        code: 'SECRET_IN_USE',
        message: expect.stringContaining('"daily drops", "results"'),
        details: { sources: users() },
      })
      expect((await t.api('GET', `/api/v1/secrets/${s.id}`)).statusCode).toBe(200)
      const unused = (await create({ name: 'unused', type: 'webhook' })).json()
      const deleted = await app.inject({ method: 'DELETE', url: `/api/v1/secrets/${unused.id}`, headers: { authorization: `Bearer ${t.adminKey}` } })
      expect(deleted.statusCode).toBe(204)
    } finally {
      await app.close()
    }
  })
})

describe('Vault service', () => {
  it('withSecret refuses a secret of another type (SECRET_TYPE_MISMATCH) without decrypting it', async () => {
    const s = (await create({ name: 'typed', type: 'webhook' })).json()
    const err = await t.runtime.deps.vault.withSecret(t.database.db, await orgOf(s.id), s.id, 'aws', async () => 'never').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ code: 'SECRET_TYPE_MISMATCH', statusCode: 400, details: { secretId: s.id, type: 'webhook', expectedType: 'aws' } })
  })

  it('withSecret hands out a Secret that prints [REDACTED], and scrubs the value from errors thrown inside', async () => {
    const s = (await create({ name: 'scrub', type: 'aws', value: AWS })).json()
    const orgId = await orgOf(s.id)
    const printed = await t.runtime.deps.vault.withSecret(t.database.db, orgId, s.id, 'aws', async (secret) =>
      [String(secret), JSON.stringify({ secret }), `${secret.map(v => v.secretAccessKey)}`])
    expect(printed).toEqual(['[REDACTED]', '{"secret":"[REDACTED]"}', '[REDACTED]'])

    const err = await t.runtime.deps.vault.withSecret(t.database.db, orgId, s.id, 'aws', async (secret) => {
      const v = secret.reveal()
      throw new Error(`S3 said: key ${v.accessKeyId} / ${v.secretAccessKey} refused`, { cause: new Error(`inner ${encodeURIComponent(v.secretAccessKey)}`) })
    }).catch((e: Error) => e)
    expect(err.message).toBe('S3 said: key [REDACTED] / [REDACTED] refused')
    expect(err.stack).not.toContain(AWS.secretAccessKey)
    expect((err.cause as Error).message).toBe('inner [REDACTED]')

    const resolved = await t.runtime.deps.vault.resolve(t.database.db, orgId, s.id, 'aws')
    expect(String(resolved)).toBe('[REDACTED]')
    expect(resolved.reveal()).toEqual(AWS)
  })

  it('reference() checks existence and type inside the caller\'s transaction', async () => {
    const s = (await create({ name: 'ref', type: 'webhook' })).json()
    const orgId = await orgOf(s.id)
    const { vault } = t.runtime.deps
    await t.database.db.transaction(async (tx) => {
      expect((await vault.reference(tx, orgId, s.id, 'webhook')).id).toBe(s.id)
      await expect(vault.reference(tx, orgId, s.id, 'aws')).rejects.toMatchObject({ code: 'SECRET_TYPE_MISMATCH' })
    })
    await expect(vault.reference(t.database.db, orgId, '00000000-0000-7000-8000-00000000dead')).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
