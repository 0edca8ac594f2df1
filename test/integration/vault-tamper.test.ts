import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import { installErrorHandling } from '../../src/plugins/errors.js'
import { newId } from '../../src/util/ids.js'
import type { SecretType } from '../../src/vault/secret.js'
import { createTestApp, type TestApp } from '../helpers/app.js'

/**
 * A database-level attacker (or a bad restore) changes a secrets row. Whatever changed, using the
 * secret fails with a stable error code — never garbage, never a crash — and the API keeps
 * answering (it never decrypts to list or show a secret).
 */
let t: TestApp
let orgA: string
let orgB: string
let otherKey: string

const AWS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }

beforeAll(async () => {
  t = await createTestApp()
  otherKey = await t.newOrg('org-b')
  const { rows } = await t.database.db.query<{ id: string, name: string }>('SELECT id, name FROM organisations')
  orgA = rows.find(r => r.name === 'default')!.id
  orgB = rows.find(r => r.name === 'org-b')!.id
})
afterAll(async () => { await t?.close() })

async function newSecret (key?: string, name = `s-${newId()}`): Promise<string> {
  const res = await t.api('POST', '/api/v1/secrets', { key, body: { name, type: 'aws', value: AWS } })
  expect(res.statusCode).toBe(201)
  return res.json().id
}

const sql = (text: string, params: unknown[]) => t.database.db.query(text, params)

/** Uses the secret the way a connector would; resolves to the error it fails with. */
async function use (orgId: string, id: string, type: SecretType = 'aws'): Promise<AppError> {
  const err = await t.runtime.deps.vault.withSecret(t.database.db, orgId, id, type, async (s) => s.reveal())
    .then((value) => { throw new Error(`decrypted after tampering: ${JSON.stringify(value).length} bytes`) }, (e: unknown) => e)
  expect(err).toBeInstanceOf(AppError)
  return err as AppError
}

const flip = (column: string, index: number | 'last') => {
  const at = index === 'last' ? `length(${column}) - 1` : index
  return `UPDATE secrets SET ${column} = set_byte(${column}, ${at}, get_byte(${column}, ${at}) # 1) WHERE id = $1`
}

describe('tampered rows fail with SECRET_DECRYPT_FAILED', () => {
  it('an untampered secret decrypts (control)', async () => {
    const id = await newSecret()
    expect(await t.runtime.deps.vault.withSecret(t.database.db, orgA, id, 'aws', async s => s.reveal())).toEqual(AWS)
  })

  const tampers: Array<[string, string]> = [
    ['a flipped bit in the first byte of the ciphertext', flip('ciphertext', 0)],
    ['a flipped bit in the last byte of the ciphertext', flip('ciphertext', 'last')],
    ['a truncated ciphertext', 'UPDATE secrets SET ciphertext = substring(ciphertext from 2) WHERE id = $1'],
    ['an extended ciphertext', "UPDATE secrets SET ciphertext = ciphertext || '\\x00'::bytea WHERE id = $1"],
    ['an empty ciphertext', "UPDATE secrets SET ciphertext = ''::bytea WHERE id = $1"],
    ['a flipped bit in the nonce', flip('nonce', 5)],
    ['a short nonce', 'UPDATE secrets SET nonce = substring(nonce from 2) WHERE id = $1'],
    ['a flipped bit in the tag', flip('tag', 'last')],
    ['a truncated tag', 'UPDATE secrets SET tag = substring(tag from 1 for 12) WHERE id = $1'],
    ['a flipped bit in the wrapped key\'s nonce', flip('wrapped_key', 0)],
    ['a flipped bit in the wrapped key\'s body', flip('wrapped_key', 30)],
    ['a flipped bit in the wrapped key\'s tag', flip('wrapped_key', 'last')],
    ['a truncated wrapped key', 'UPDATE secrets SET wrapped_key = substring(wrapped_key from 1 for 40) WHERE id = $1'],
    ['another format version', 'UPDATE secrets SET format_version = 2 WHERE id = $1'],
    ['a malformed master key id', "UPDATE secrets SET kek_id = 'not-a-key-id' WHERE id = $1"],
  ]
  for (const [what, statement] of tampers) {
    it(what, async () => {
      const id = await newSecret()
      await sql(statement, [id])
      const err = await use(orgA, id)
      expect(err.code).toBe('SECRET_DECRYPT_FAILED')
      expect(err.statusCode).toBe(500)
      expect(err.details).toEqual({ secretId: id })
      // the API still lists and shows it
      expect((await t.api('GET', `/api/v1/secrets/${id}`)).statusCode).toBe(200)
      expect((await t.api('GET', '/api/v1/secrets?limit=200')).statusCode).toBe(200)
    })
  }

  it('a data key wrapped under a master key this process does not hold → MASTER_KEY_MISMATCH', async () => {
    const id = await newSecret()
    await sql("UPDATE secrets SET kek_id = '0123456789abcdef' WHERE id = $1", [id])
    const err = await use(orgA, id)
    expect(err.code).toBe('MASTER_KEY_MISMATCH')
    expect(err.message).toContain('0123456789abcdef')
  })

  it('a changed type (AAD) fails when used as the new type', async () => {
    const id = await newSecret()
    await sql("UPDATE secrets SET type = 'webhook' WHERE id = $1", [id])
    expect((await use(orgA, id, 'webhook')).code).toBe('SECRET_DECRYPT_FAILED')
    expect((await use(orgA, id, 'aws')).code).toBe('SECRET_TYPE_MISMATCH')
  })

  it('a changed secret id (AAD) fails', async () => {
    const id = await newSecret()
    const moved = newId()
    await sql('UPDATE secrets SET id = $2 WHERE id = $1', [id, moved])
    expect((await use(orgA, moved)).code).toBe('SECRET_DECRYPT_FAILED')
  })

  it('a row moved to another organisation fails there and is gone from the first', async () => {
    const id = await newSecret()
    await sql('UPDATE secrets SET org_id = $2 WHERE id = $1', [id, orgB])
    expect((await use(orgB, id)).code).toBe('SECRET_DECRYPT_FAILED')
    expect((await use(orgA, id)).code).toBe('NOT_FOUND')
  })

  it('a row copied into another organisation fails there; the original still works', async () => {
    const id = await newSecret()
    const copy = newId()
    await sql(`INSERT INTO secrets (id, org_id, name, type, format_version, ciphertext, nonce, tag, wrapped_key, kek_id, redacted)
      SELECT $2, $3, 'copied', type, format_version, ciphertext, nonce, tag, wrapped_key, kek_id, redacted FROM secrets WHERE id = $1`, [id, copy, orgB])
    expect((await use(orgB, copy)).code).toBe('SECRET_DECRYPT_FAILED')
    expect((await t.api('GET', `/api/v1/secrets/${copy}`, { key: otherKey })).statusCode).toBe(200)
    expect(await t.runtime.deps.vault.withSecret(t.database.db, orgA, id, 'aws', async s => s.reveal())).toEqual(AWS)
  })

  it('sealed columns pasted over another organisation\'s own secret fail', async () => {
    const mine = await newSecret()
    const theirs = await newSecret(otherKey)
    await sql(`UPDATE secrets AS dst SET format_version = src.format_version, ciphertext = src.ciphertext, nonce = src.nonce,
        tag = src.tag, wrapped_key = src.wrapped_key, kek_id = src.kek_id
      FROM secrets AS src WHERE src.id = $1 AND dst.id = $2`, [mine, theirs])
    expect((await use(orgB, theirs)).code).toBe('SECRET_DECRYPT_FAILED')
  })

  it('sealed columns swapped between two secrets of one organisation fail', async () => {
    const one = await newSecret()
    const two = await newSecret()
    await sql(`UPDATE secrets AS dst SET ciphertext = src.ciphertext, nonce = src.nonce, tag = src.tag, wrapped_key = src.wrapped_key
      FROM secrets AS src WHERE src.id = $1 AND dst.id = $2`, [one, two])
    expect((await use(orgA, two)).code).toBe('SECRET_DECRYPT_FAILED')
  })

  it('the decrypt failure is a 500 with a code and no internals when it reaches the HTTP error handler', async () => {
    const id = await newSecret()
    await sql(flip('tag', 0), [id])
    const err = await use(orgA, id)
    // what a route that uses a secret answers: the error handler's 5xx shape
    const app = Fastify()
    installErrorHandling(app)
    app.get('/use-secret', async () => { throw err })
    const res = await app.inject({ method: 'GET', url: '/use-secret' })
    await app.close()
    expect(res.statusCode).toBe(500)
    expect(res.json()).toEqual({ code: 'SECRET_DECRYPT_FAILED', message: 'Internal server error.' })
  })
})
