import { PutObjectCommand } from '@aws-sdk/client-s3'
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootstrapAdminKey, hashApiKey, resetInstanceAdminKey } from '../../src/auth/api-keys.js'
import { ROUTE_ACCESS } from '../../src/auth/roles.js'
import { openDb } from '../../src/db/open.js'
import { migrate } from '../../src/db/migrate.js'
import { findApiKeyByHash } from '../../src/db/sql/api-keys.js'
import { createLogger } from '../../src/log.js'
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { backend, createPostgresDatabase } from '../helpers/db.js'
import { spawnFerry } from '../helpers/process.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

let t: TestApp
let s3: S3rverHandle
/** an organisation of its own, with one key of each role */
const keys = { admin: '', operator: '', viewer: '' }
let orgAdminKeyId = ''
const BUCKET = 'roles-inventory'

async function newKey (adminKey: string, role: string, extra: Record<string, unknown> = {}): Promise<{ apiKey: string, id: string }> {
  const res = await t.api('POST', '/api/v1/api-keys', { key: adminKey, body: { name: `${role} key`, role, ...extra } })
  expect(res.statusCode, res.body).toBe(201)
  return { apiKey: res.json().apiKey, id: res.json().key.id }
}

beforeAll(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] })
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128' } })
  keys.admin = await t.newOrg('roles')
  orgAdminKeyId = (await t.api('GET', '/api/v1/me', { key: keys.admin })).json().apiKey.id
  keys.operator = (await newKey(keys.admin, 'operator')).apiKey
  keys.viewer = (await newKey(keys.admin, 'viewer')).apiKey
})
afterAll(async () => {
  await t?.close()
  await s3?.close()
})

/**
 * Who may call each operation: written out here, apart from src/auth/roles.ts, so this test states
 * the policy rather than repeating the table. Every operation of the OpenAPI document must be
 * listed: a new route fails this test until someone decides who may call it.
 */
const EXPECTED: Record<string, 'viewer' | 'operator' | 'admin' | 'instance' | 'public' | 'ops'> = {
  'GET /healthz': 'ops',
  'GET /readyz': 'ops',
  'GET /metrics': 'ops',
  'POST /api/v1/admin/orgs': 'instance',
  'GET /api/v1/me': 'viewer',
  'GET /api/v1/api-keys': 'viewer',
  'POST /api/v1/api-keys': 'admin',
  'DELETE /api/v1/api-keys/{id}': 'admin',
  'GET /api/v1/audit-log': 'admin',
  'GET /api/v1/secrets': 'viewer',
  'POST /api/v1/secrets': 'admin',
  'GET /api/v1/secrets/{id}': 'viewer',
  'PATCH /api/v1/secrets/{id}': 'admin',
  'DELETE /api/v1/secrets/{id}': 'admin',
  'GET /api/v1/agents': 'viewer',
  'POST /api/v1/agents': 'operator',
  'GET /api/v1/agents/{id}': 'viewer',
  'PATCH /api/v1/agents/{id}': 'operator',
  'DELETE /api/v1/agents/{id}': 'admin',
  'GET /api/v1/agents/{id}/data-sources': 'viewer',
  'POST /api/v1/agents/{id}/data-sources': 'operator',
  'GET /api/v1/agents/{id}/data-sources/{sid}': 'viewer',
  'PATCH /api/v1/agents/{id}/data-sources/{sid}': 'operator',
  'DELETE /api/v1/agents/{id}/data-sources/{sid}': 'admin',
  'GET /api/v1/data-sources/{sid}': 'viewer',
  'POST /api/v1/agents/{id}/data-sources/{sid}/test': 'operator',
  'POST /api/v1/agents/{id}/data-sources/preview': 'operator',
  'POST /api/v1/agents/{id}/data-sources/{sid}/preview': 'operator',
  'POST /api/v1/agents/{id}/data-sources/{sid}/pull': 'operator',
  'POST /api/v1/agents/{id}/data-sources/{sid}/push': 'operator',
  'GET /api/v1/agents/{id}/data-sources/{sid}/syncs': 'viewer',
  'GET /api/v1/agents/{id}/data-sources/{sid}/syncs/{syncId}': 'viewer',
  'POST /api/v1/agents/{id}/data-sources/{sid}/syncs/{syncId}/cancel': 'operator',
  'POST /api/v1/agents/{id}/data-sources/{sid}/syncs/{syncId}/retry': 'operator',
  'POST /api/v1/agents/{id}/data-sources/{sid}/reset': 'operator',
  'GET /api/v1/agents/{id}/inventory/uploads': 'viewer',
  'POST /api/v1/agents/{id}/inventory/uploads': 'operator',
  'GET /api/v1/agents/{id}/inventory/uploads/{uid}': 'viewer',
  'GET /api/v1/agents/{id}/inventory/uploads/{uid}/items': 'viewer',
  'GET /api/v1/agents/{id}/jobs': 'viewer',
  'POST /api/v1/agents/{id}/jobs': 'operator',
  'GET /api/v1/agents/{id}/jobs/{jobId}': 'viewer',
  'GET /api/v1/agents/{id}/jobs/{jobId}/results': 'viewer',
  'GET /api/v1/agents/{id}/pending-items': 'viewer',
  'POST /api/v1/agents/{id}/pending-items/{pid}/resolve': 'operator',
  'GET /api/v1/agents/{id}/channels': 'viewer',
  'POST /api/v1/agents/{id}/channels': 'admin',
  'PATCH /api/v1/agents/{id}/channels/{cid}': 'admin',
  'DELETE /api/v1/agents/{id}/channels/{cid}': 'admin',
  'POST /api/v1/agents/{id}/channels/{cid}/test': 'operator',
  'GET /api/v1/agents/{id}/channels/{cid}/deliveries': 'viewer',
  'POST /api/v1/inbound/{sourceId}': 'public',
}

const RANK = { viewer: 0, operator: 1, admin: 2 } as const

describe('the role table covers every operation of the OpenAPI document', () => {
  it('allows and refuses each operation for each role as the policy says', async () => {
    const doc = (await t.api('GET', '/docs/json', { key: null })).json() as { paths: Record<string, Record<string, unknown>> }
    const operations = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.keys(methods).filter(m => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map(m => `${m.toUpperCase()} ${p}`))
    // a new route with no line above fails here: decide who may call it (src/auth/roles.ts, docs/security.md)
    expect(operations.sort()).toEqual(Object.keys(EXPECTED).sort())
    // and the table names no route that does not exist (a renamed route would leave its old line behind)
    const tabled = Object.keys(ROUTE_ACCESS).map(k => k.replace(/:(\w+)/g, '{$1}'))
    expect(tabled.filter(k => !operations.includes(k))).toEqual([])

    const refusals: string[] = []
    for (const op of operations) {
      const [method, template] = op.split(' ')
      // unknown ids of the right shape: an allowed call answers 404 or 400 and changes nothing
      const url = template.replace(/\{[^}]+\}/g, () => randomUUID())
      const expected = EXPECTED[op]
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const res = await t.api(method, url, { key: keys[role] })
        const refused = res.statusCode === 403
        const shouldRefuse = expected === 'instance' || (expected in RANK && RANK[role] < RANK[expected as keyof typeof RANK])
        if (refused !== shouldRefuse) refusals.push(`${op} as ${role}: ${res.statusCode} ${res.body.slice(0, 120)}`)
        if (refused) expect(res.json().code, op).toBe(expected === 'instance' ? 'FORBIDDEN' : 'FORBIDDEN_ROLE')
        if (expected !== 'ops' && expected !== 'public') expect(res.statusCode, `${op} as ${role}`).not.toBe(401)
      }
      const anonymous = await t.api(method, url, { key: null })
      if (expected === 'ops' || expected === 'public') expect(anonymous.statusCode, op).not.toBe(401)
      else expect(anonymous.statusCode, op).toBe(401)
    }
    expect(refusals).toEqual([])
    // the instance-admin key is the one that creates organisations
    expect((await t.api('POST', '/api/v1/admin/orgs', { body: {} })).statusCode).toBe(400)
  })
})

describe('roles on real resources', () => {
  let agentId: string
  let sourceId: string
  let secretId: string

  beforeAll(async () => {
    const value = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
    const secret = await t.api('POST', '/api/v1/secrets', { key: keys.admin, body: { name: 's3rver', type: 'aws', value } })
    expect(secret.statusCode, secret.body).toBe(201)
    secretId = secret.json().id
    const agent = await t.api('POST', '/api/v1/agents', { key: keys.operator, body: { name: 'feeds', rules: { autoPull: false, autoMap: false } } })
    expect(agent.statusCode, agent.body).toBe(201)
    agentId = agent.json().id
    const source = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      key: keys.operator,
      body: {
        name: 'daily', role: 'INVENTORY_SOURCE', type: 's3',
        config: { bucket: BUCKET, prefix: 'daily/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true },
      },
    })
    expect(source.statusCode, source.body).toBe(201)
    sourceId = source.json().id
  })

  it('a viewer reads everything and writes nothing', async () => {
    for (const url of ['/api/v1/agents', `/api/v1/agents/${agentId}`, `/api/v1/agents/${agentId}/data-sources`, '/api/v1/secrets', '/api/v1/api-keys']) {
      expect((await t.api('GET', url, { key: keys.viewer })).statusCode, url).toBe(200)
    }
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/agents', { name: 'nope' }],
      ['PATCH', `/api/v1/agents/${agentId}`, { name: 'renamed' }],
      ['DELETE', `/api/v1/agents/${agentId}`, undefined],
      ['POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull`, undefined],
      ['PATCH', `/api/v1/secrets/${secretId}`, { name: 'x' }],
    ]
    for (const [method, url, body] of writes) {
      const res = await t.api(method, url, { key: keys.viewer, body })
      expect(res.statusCode, `${method} ${url}`).toBe(403)
      expect(res.json()).toMatchObject({ code: 'FORBIDDEN_ROLE', details: { role: 'viewer' } })
    }
    expect((await t.api('GET', `/api/v1/agents/${agentId}`, { key: keys.viewer })).json().name).toBe('feeds')
    // a key list shown to a non-admin carries no key characters at all
    const list = (await t.api('GET', '/api/v1/api-keys', { key: keys.viewer })).json().items as Array<Record<string, unknown>>
    expect(list.length).toBeGreaterThanOrEqual(3)
    for (const k of list) expect(k).not.toHaveProperty('hint')
    expect((await t.api('GET', '/api/v1/api-keys', { key: keys.admin })).json().items[0]).toHaveProperty('hint')
    const me = (await t.api('GET', '/api/v1/me', { key: keys.viewer })).json()
    expect(me).toMatchObject({ org: { name: 'roles' }, apiKey: { role: 'viewer', expiresAt: null } })
  })

  it('an operator pulls but cannot create secrets or keys', async () => {
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'daily/a.csv', Body: 'sku,quantity\nA-1,3\n' }))
    const pulled = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`, { key: keys.operator })
    expect(pulled.statusCode, pulled.body).toBe(200)
    expect(pulled.json()).toMatchObject({ status: 'succeeded', rowsAccepted: 1 })

    const secret = await t.api('POST', '/api/v1/secrets', { key: keys.operator, body: { name: 'x', type: 'http_header', value: { name: 'a', value: 'b' } } })
    expect(secret.statusCode).toBe(403)
    expect(secret.json().code).toBe('FORBIDDEN_ROLE')
    const key = await t.api('POST', '/api/v1/api-keys', { key: keys.operator, body: { name: 'escalate', role: 'admin' } })
    expect(key.statusCode).toBe(403)
    expect(key.json().code).toBe('FORBIDDEN_ROLE')
    expect((await t.api('DELETE', `/api/v1/agents/${agentId}/data-sources/${sourceId}`, { key: keys.operator })).statusCode).toBe(403)
    expect((await t.api('GET', '/api/v1/audit-log', { key: keys.operator })).statusCode).toBe(403)
  })

  it('records an operator\'s change with a diff, and a secret rotation without the secret', async () => {
    const patched = await t.api('PATCH', `/api/v1/agents/${agentId}`, { key: keys.operator, body: { scheduleCron: '*/30 * * * *' } })
    expect(patched.statusCode, patched.body).toBe(200)
    const source = await t.api('PATCH', `/api/v1/agents/${agentId}/data-sources/${sourceId}`,
      { key: keys.operator, body: { name: 'daily drops', config: { prefix: 'drops/' }, validate: false } })
    expect(source.statusCode, source.body).toBe(200)

    const canary = `CANARY${randomBytes(12).toString('hex')}`
    const rotated = await t.api('PATCH', `/api/v1/secrets/${secretId}`,
      { key: keys.admin, body: { value: { accessKeyId: 'AKIAROTATED', secretAccessKey: canary }, validate: false } })
    expect(rotated.statusCode, rotated.body).toBe(200)

    const log = await t.api('GET', '/api/v1/audit-log?limit=200', { key: keys.admin })
    expect(log.statusCode, log.body).toBe(200)
    expect(log.body).not.toContain(canary)
    expect(log.body).not.toContain(canary.slice(0, -4))
    expect(log.body).not.toContain(s3.secretAccessKey + '"')
    const items = log.json().items as Array<Record<string, any>>
    const operatorId = (await t.api('GET', '/api/v1/me', { key: keys.operator })).json().apiKey.id

    const agentUpdate = items.find(e => e.resourceType === 'agent' && e.action === 'update')
    expect(agentUpdate).toMatchObject({
      resourceId: agentId,
      actor: { apiKeyId: operatorId, name: 'operator key', role: 'operator' },
      changes: { scheduleCron: { before: '0 * * * *', after: '*/30 * * * *' } },
    })
    expect(Object.keys(agentUpdate!.changes)).toEqual(['scheduleCron'])

    const sourceUpdate = items.find(e => e.resourceType === 'data_source' && e.action === 'update')
    expect(sourceUpdate!.changes).toMatchObject({ name: { before: 'daily', after: 'daily drops' } })
    expect(sourceUpdate!.changes.config.before.prefix).toBe('daily/')
    expect(sourceUpdate!.changes.config.after.prefix).toBe('drops/')

    const secretUpdate = items.find(e => e.resourceType === 'secret' && e.action === 'update')
    expect(secretUpdate!.actor.role).toBe('admin')
    expect(secretUpdate!.changes.value.after.secretAccessKey).toMatch(/^mt_byo_\*{4}/)
    expect(secretUpdate!.changes.value.after.secretAccessKey).toBe(rotated.json().redacted.secretAccessKey)

    // the pull, the creations and the keys of the setup are there too, newest first
    const actions = items.map(e => `${e.action} ${e.resourceType}`)
    for (const a of ['pull data_source', 'create data_source', 'create agent', 'create secret', 'create api_key']) expect(actions).toContain(a)
    const filtered = await t.api('GET', `/api/v1/audit-log?resourceType=agent&resourceId=${agentId}`, { key: keys.admin })
    expect(filtered.json().items.map((e: { action: string }) => e.action)).toEqual(['update', 'create'])
  })

  it('a refused write leaves no audit entry', async () => {
    const before = (await t.api('GET', '/api/v1/audit-log?limit=200', { key: keys.admin })).json().items.length
    expect((await t.api('PATCH', `/api/v1/agents/${agentId}`, { key: keys.viewer, body: { name: 'x' } })).statusCode).toBe(403)
    expect((await t.api('PATCH', `/api/v1/agents/${agentId}`, { key: keys.operator, body: { timezone: 'Mars/Olympus' } })).statusCode).toBe(400)
    expect((await t.api('GET', '/api/v1/audit-log?limit=200', { key: keys.admin })).json().items.length).toBe(before)
  })
})

describe('the audit log', () => {
  it('pages with an opaque cursor and shows only its own organisation', async () => {
    const other = await t.newOrg('paging')
    const created: string[] = []
    for (let i = 0; i < 5; i++) created.push((await t.api('POST', '/api/v1/agents', { key: other, body: { name: `a${i}` } })).json().id)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await t.api('GET', `/api/v1/audit-log?limit=2&resourceType=agent${cursor ? `&cursor=${cursor}` : ''}`, { key: other })
      expect(res.statusCode, res.body).toBe(200)
      const body = res.json()
      seen.push(...body.items.map((e: { resourceId: string }) => e.resourceId))
      cursor = body.nextCursor
      pages++
    } while (cursor && pages < 10)
    expect(seen).toEqual([...created].reverse())
    expect(pages).toBe(3)

    // the other organisation's entries are not in "roles"'s log, and a filter by their id finds nothing
    const mine = await t.api('GET', `/api/v1/audit-log?resourceId=${created[0]}`, { key: keys.admin })
    expect(mine.json().items).toEqual([])
    expect((await t.api('GET', '/api/v1/audit-log?cursor=garbage', { key: other })).statusCode).toBe(400)
  })
})

describe('expiring keys', () => {
  it('a key stops at its expiry, even while this process has it cached', async () => {
    const soon = new Date(Date.now() + 2_000).toISOString()
    const { apiKey } = await newKey(keys.admin, 'viewer', { expiresAt: soon })
    expect((await t.api('GET', '/api/v1/agents', { key: apiKey })).statusCode).toBe(200)
    expect((await t.api('GET', '/api/v1/me', { key: apiKey })).json().apiKey.expiresAt).toBe(soon)
    await expect.poll(async () => (await t.api('GET', '/api/v1/agents', { key: apiKey })).statusCode, { timeout: 15_000, interval: 250 }).toBe(401)
    expect((await t.api('GET', '/api/v1/agents', { key: apiKey })).json().message).toMatch(/expired/)
  })

  it('a key whose expiry is moved into the past (another process, SQL) stops within the cache time', async () => {
    const { apiKey, id } = await newKey(keys.admin, 'operator', { expiresAt: new Date(Date.now() + 3600_000).toISOString() })
    expect((await t.api('GET', '/api/v1/agents', { key: apiKey })).statusCode).toBe(200)
    await t.database.db.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [id])
    // the cache (FERRY_API_KEY_CACHE_SECONDS, 5 s here) still holds the old expiry; a fresh lookup sees the new one
    await expect.poll(async () => (await t.api('GET', '/api/v1/agents', { key: apiKey })).statusCode, { timeout: 15_000, interval: 250 }).toBe(401)
  })

  it('refuses an expiry in the past and a missing role', async () => {
    const past = await t.api('POST', '/api/v1/api-keys', { key: keys.admin, body: { name: 'old', role: 'viewer', expiresAt: '2020-01-01T00:00:00Z' } })
    expect(past.statusCode).toBe(400)
    expect(past.json().details.field).toBe('expiresAt')
    expect((await t.api('POST', '/api/v1/api-keys', { key: keys.admin, body: { name: 'no role' } })).statusCode).toBe(400)
    expect((await t.api('POST', '/api/v1/api-keys', { key: keys.admin, body: { name: 'root', role: 'root' } })).statusCode).toBe(400)
  })
})

describe('the instance-admin key', () => {
  it('is invisible to and irrevocable by the keys of its own organisation', async () => {
    const instanceKeyId = (await t.api('GET', '/api/v1/me')).json().apiKey.id
    const { apiKey: orgAdmin } = await newKey(ADMIN_KEY, 'admin')
    const listed = (await t.api('GET', '/api/v1/api-keys', { key: orgAdmin })).json().items.map((k: { id: string }) => k.id)
    expect(listed).not.toContain(instanceKeyId)
    const revoke = await t.api('DELETE', `/api/v1/api-keys/${instanceKeyId}`, { key: orgAdmin })
    expect(revoke.statusCode).toBe(404)
    expect((await t.api('POST', '/api/v1/admin/orgs', { body: { name: 'still works' } })).statusCode).toBe(201)
    // it sees itself, and cannot revoke itself either
    expect((await t.api('GET', '/api/v1/api-keys')).json().items.map((k: { id: string }) => k.id)).toContain(instanceKeyId)
    expect((await t.api('DELETE', `/api/v1/api-keys/${instanceKeyId}`)).statusCode).toBe(409)
    // another organisation's admin cannot see or revoke it, nor the org admin key of "roles"
    expect((await t.api('DELETE', `/api/v1/api-keys/${orgAdminKeyId}`, { key: orgAdmin })).statusCode).toBe(404)
  })
})

describe('ferry admin-key reset', () => {
  it('replaces a lost instance-admin key with a new one, printed once and saved 0600', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-admin-reset-'))
    const pg = backend() === 'postgres' ? await createPostgresDatabase() : null
    const env: Record<string, string> = {
      FERRY_DATA_DIR: dataDir, FERRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), ...(pg ? { DATABASE_URL: pg.url } : {}),
    }
    const open = () => openDb({ databaseUrl: pg?.url, dataDir })
    try {
      // the bootstrap key, then the state issue 14 case 5 left behind: the key revoked
      let db = await open()
      await migrate(db)
      const logger = createLogger({ level: 'silent' })
      await bootstrapAdminKey(db, { bootstrapApiKey: 'fy_old_bootstrap_key_000000000000', dataDir, logger })
      const old = await findApiKeyByHash(db, hashApiKey('fy_old_bootstrap_key_000000000000'))
      await db.query('DELETE FROM api_keys WHERE id = $1', [old!.id])
      await db.close()

      const run = spawnFerry(['admin-key', 'reset'], env)
      expect(await run.exited, run.output()).toBe(0)
      const file = path.join(dataDir, 'admin-api-key')
      const saved = (await fs.readFile(file, 'utf8')).trim()
      expect(saved).toMatch(/^fy_/)
      expect(run.output()).toContain(saved)
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600)

      db = await open()
      try {
        // a second reset (the same function, in-process: one CLI start is enough) replaces the first new key
        const printed: string[] = []
        await resetInstanceAdminKey(db, { dataDir, print: line => printed.push(line) })
        const second = (await fs.readFile(file, 'utf8')).trim()
        expect(second).not.toBe(saved)
        expect(printed.join('\n')).toContain(second)

        const key = await findApiKeyByHash(db, hashApiKey(second))
        expect(key).toMatchObject({ isInstanceAdmin: true, role: 'admin', orgId: old!.orgId })
        expect(await findApiKeyByHash(db, hashApiKey(saved))).toBeNull()
        const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_keys WHERE is_instance_admin')
        expect(rows[0].n).toBe(1)
        const audit = await db.query<{ action: string, actor_key_id: string | null, actor_name: string }>(
          'SELECT action, actor_key_id, actor_name FROM audit_log WHERE org_id = $1 ORDER BY id', [old!.orgId])
        expect(audit.rows.map(r => r.action)).toEqual(['create', 'revoke', 'create'])
        expect(audit.rows.every(r => r.actor_key_id === null && r.actor_name === 'ferry admin-key reset')).toBe(true)
      } finally {
        await db.close()
      }
    } finally {
      await pg?.drop()
      await fs.rm(dataDir, { recursive: true, force: true })
    }
  }, 180_000)
})
