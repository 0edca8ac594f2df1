import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'

let t: TestApp
let s3: S3rverHandle
let agentId: string
let secretId: string
const BUCKET = 'acme-inventory'

const put = (key: string, body: string | Buffer) => s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))

const s3Config = (extra: Record<string, unknown> = {}) => ({
  bucket: BUCKET, prefix: 'daily/', region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true, ...extra,
})

beforeAll(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] })
  t = await createTestApp({ env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_TARGET_TIMEOUT_MS: '5000' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'acme', scheduleCron: '*/15 * * * *', timezone: 'Europe/Berlin' } })).json().id
  const secret = await t.api('POST', '/api/v1/secrets', {
    body: { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
  })
  expect(secret.statusCode, secret.body).toBe(201)
  secretId = secret.json().id
})
afterAll(async () => {
  await t?.close()
  await s3?.close()
})

const create = (body: Record<string, unknown>, key?: string) => t.api('POST', `/api/v1/agents/${agentId}/data-sources`, { body, key })
const pull = async (sourceId: string) => {
  const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`)
  expect(res.statusCode, res.body).toBe(200)
  return res.json()
}
const syncWithManifest = async (sourceId: string, syncId: string) =>
  (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sourceId}/syncs/${syncId}`)).json()

describe('S3 data sources', () => {
  it('validates at save time and says what to fix', async () => {
    const noBucket = await create({ name: 'wrong bucket', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ bucket: 'no-such-bucket' }) })
    expect(noBucket.statusCode).toBe(422)
    expect(noBucket.json()).toMatchObject({ code: 'SOURCE_VALIDATION_FAILED', details: { field: 'config.bucket', reason: 'no_such_bucket' } })
    expect(noBucket.json().message).toMatch(/no-such-bucket/)

    const badKey = await t.api('POST', '/api/v1/secrets', {
      body: { name: 'bad', type: 'aws', value: { accessKeyId: 'AKIAWRONGWRONG', secretAccessKey: 'x'.repeat(40) } },
    })
    const wrongKey = await create({ name: 'wrong key', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ secretRef: badKey.json().id }) })
    expect(wrongKey.statusCode).toBe(422)
    expect(wrongKey.json().details).toMatchObject({ field: 'config.secretRef', reason: 'unknown_key_id' })

    const skipped = await create({ name: 'skipped', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ bucket: 'no-such-bucket' }), validate: false })
    expect(skipped.statusCode).toBe(201)
    expect(skipped.json()).toMatchObject({ validationSkipped: true, validatedAt: null })

    const badSchema = await create({ name: 'x', role: 'INVENTORY_SOURCE', type: 's3', config: { bucket: BUCKET } })
    expect(badSchema.statusCode).toBe(400)
    expect(badSchema.json().details.field).toBe('config.secretRef')

    const unknownSecret = await create({
      name: 'x', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ secretRef: '00000000-0000-4000-8000-000000000000' }),
    })
    expect(unknownSecret.statusCode).toBe(400)
    expect(unknownSecret.json().details.field).toBe('config.secretRef')
  })

  it('refuses private endpoints unless allowed, at save time', async () => {
    const strict = await createTestAppStrict()
    try {
      const secret = (await strict.api('POST', '/api/v1/secrets', {
        body: { name: 's', type: 'aws', value: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
      })).json()
      const agent = (await strict.api('POST', '/api/v1/agents', { body: { name: 'a' } })).json()
      for (const endpoint of [s3.endpoint, `http://localhost:${s3.port}`, 'http://169.254.169.254', 'http://[::ffff:127.0.0.1]:9000', 'http://2130706433/']) {
        const res = await strict.api('POST', `/api/v1/agents/${agent.id}/data-sources`, {
          body: {
            name: 'ssrf',
            role: 'INVENTORY_SOURCE',
            type: 's3',
            config: { bucket: BUCKET, region: 'us-east-1', secretRef: secret.id, endpoint, forcePathStyle: true },
          },
        })
        expect(res.statusCode, endpoint).toBe(422)
        expect(res.json().details.field, endpoint).toBe('config.endpoint')
      }
    } finally {
      await strict.close()
    }
  })

  it('pulls exactly once: first pull takes everything, second nothing, new versions again', async () => {
    await put('daily/a.csv', 'sku,quantity\nA1,1\nA2,2\n')
    await put('daily/sub/b.ndjson', '{"sku":"B1","quantity":3}\n')
    await put('daily/notes.pdf', '%PDF-1.4 fake')
    await put('daily/empty.csv', '')
    await put('daily/bad.json', '[{"sku": "x"},')
    await put('other/c.csv', 'sku\nC1\n')

    const created = await create({ name: 'daily drops', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config(), scheduleCron: null })
    expect(created.statusCode, created.body).toBe(201)
    const source = created.json()
    expect(source).toMatchObject({ validationSkipped: false, effectiveScheduleCron: '*/15 * * * *', redactedSecrets: { secretRef: { type: 'aws' } } })
    expect(source.nextPullAt).toBeTruthy()
    expect(JSON.stringify(source)).not.toContain(s3.secretAccessKey + '"')

    const first = await pull(source.id)
    expect(first).toMatchObject({ status: 'partial', trigger: 'manual', direction: 'inbound', filesCount: 3, rowsAccepted: 3 })
    const manifest = first.manifest as Array<{ key: string, status: string, reason?: string }>
    const byKey = Object.fromEntries(manifest.map(e => [e.key, e]))
    expect(byKey['daily/a.csv'].status).toBe('ingested')
    expect(byKey['daily/sub/b.ndjson'].status).toBe('ingested')
    expect(byKey['daily/bad.json'].status).toBe('rejected')
    // folder markers ("daily/folder/") are skipped too (test/unit/sync/skip.test.ts): s3rver cannot store them
    expect(byKey['daily/notes.pdf']).toMatchObject({ status: 'skipped' })
    expect(byKey['daily/empty.csv']).toMatchObject({ status: 'skipped', reason: 'empty file' })
    expect(byKey['other/c.csv']).toBeUndefined()

    const second = await pull(source.id)
    expect(second).toMatchObject({ status: 'succeeded', filesCount: 0, rowsAccepted: 0, manifest: [] })

    // same key, new content: a new version (new ETag) is ingested again; same content is not
    await put('daily/a.csv', 'sku,quantity\nA1,10\n')
    await put('daily/sub/b.ndjson', '{"sku":"B1","quantity":3}\n')
    const third = await pull(source.id)
    expect(third.manifest.map((e: { key: string }) => e.key)).toEqual(['daily/a.csv'])
    expect(third).toMatchObject({ status: 'succeeded', filesCount: 1, rowsAccepted: 1 })

    const { rows } = await t.database.db.query<{ n: number }>(
      'SELECT count(*) AS n FROM inventory_items i JOIN inventory_uploads u ON u.seq = i.upload_seq WHERE u.source_id = $1', [source.id])
    expect(rows[0].n).toBe(4)

    const history = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs?limit=2`)).json()
    expect(history.items.map((s: { id: string }) => s.id)).toEqual([third.id, second.id])
    expect(history.items[0]).not.toHaveProperty('manifest')
    const full = await syncWithManifest(source.id, first.id)
    expect(full.manifest).toHaveLength(manifest.length)
    const after = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}`)).json()
    expect(after.lastSync).toMatchObject({ id: third.id, status: 'succeeded' })
    expect(Date.parse(after.lastSyncedAt)).toBeGreaterThan(0)
  })

  it('takes files whose LastModified is older than lastSyncedAt when they appear later, once', async () => {
    const source = (await create({ name: 'late files', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ prefix: 'late/' }) })).json()
    await put('late/one.csv', 'sku\nL1\n')
    await pull(source.id)
    // the same second as the previous pull, and a file stamped before lastSyncedAt (a multipart
    // upload carries its start time): the ledger, not the timestamp, decides
    await put('late/two.csv', 'sku\nL2\n')
    await t.database.db.query(`UPDATE data_sources SET last_synced_at = now() + interval '1 hour' WHERE id = $1`, [source.id])
    const next = await pull(source.id)
    expect(next.manifest.map((e: { key: string }) => e.key)).toEqual(['late/two.csv'])
    expect((await pull(source.id)).filesCount).toBe(0)
  })

  it('takes over from a sync whose worker died instead of refusing the pull', async () => {
    const source = (await create({ name: 'orphaned', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ prefix: 'orphan/' }) })).json()
    await put('orphan/x.csv', 'sku\nO1\n')
    // a sync left running by a worker that was killed: no lease on the source, no queued job
    const orphanId = '01a22500-0000-7000-8000-00000000dead'
    await t.database.db.query(
      `INSERT INTO syncs (id, org_id, source_id, direction, trigger, status)
       SELECT $1, org_id, id, 'inbound', 'schedule', 'running' FROM data_sources WHERE id = $2`,
      [orphanId, source.id])
    const sync = await pull(source.id)
    expect(sync).toMatchObject({ status: 'succeeded', rowsAccepted: 1 })
    const orphan = await syncWithManifest(source.id, orphanId)
    expect(orphan).toMatchObject({ status: 'failed', error: { code: 'LEASE_LOST' } })
    // a live lease: a second pull joins the running one (its id) and starts nothing
    await t.database.db.query(`UPDATE data_sources SET lease_token = $2, lease_expires_at = now() + interval '1 minute' WHERE id = $1`, [source.id, orphanId])
    await t.database.db.query(
      `INSERT INTO syncs (id, org_id, source_id, direction, trigger, status)
       SELECT $1, org_id, id, 'inbound', 'schedule', 'running' FROM data_sources WHERE id = $2`,
      ['01a22500-0000-7000-8000-00000000beef', source.id])
    const joined = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${source.id}/pull`)
    expect(joined.statusCode).toBe(202)
    expect(joined.json()).toEqual({ syncId: '01a22500-0000-7000-8000-00000000beef', joined: true })
    await t.database.db.query(`UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1`, [source.id])
    await t.database.db.query(`UPDATE syncs SET status = 'failed' WHERE id = $1`, ['01a22500-0000-7000-8000-00000000beef'])
  })

  it('refuses an object over the size limit once, without downloading it', async () => {
    const source = (await create({ name: 'big', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ prefix: 'big/' }) })).json()
    await put('big/huge.csv', 'sku\n' + 'X\n'.repeat(100))
    const limits = t.runtime.deps.config.limits
    const before = limits.maxFileBytes
    limits.maxFileBytes = 50
    try {
      const first = await pull(source.id)
      expect(first.status).toBe('partial')
      expect(first.manifest[0]).toMatchObject({ key: 'big/huge.csv', status: 'rejected', reason: expect.stringMatching(/FILE_TOO_LARGE/) })
      expect((await pull(source.id)).manifest).toEqual([])
    } finally {
      limits.maxFileBytes = before
    }
  })

  it('applies the pattern to the key below the prefix', async () => {
    await put('pat/keep.csv', 'sku\nP1\n')
    await put('pat/deep/keep.csv', 'sku\nP2\n')
    await put('pat/drop.ndjson', '{"sku":"P3"}\n')
    const source = (await create({ name: 'pattern', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ prefix: 'pat/', pattern: '**/*.csv' }) })).json()
    const sync = await pull(source.id)
    const statuses = Object.fromEntries(sync.manifest.map((e: { key: string, status: string }) => [e.key, e.status]))
    expect(statuses).toEqual({ 'pat/keep.csv': 'ingested', 'pat/deep/keep.csv': 'ingested', 'pat/drop.ndjson': 'skipped' })
    expect((await pull(source.id)).manifest).toEqual([])
  })

  it('tests read-only: checks step by step, no sync, no ledger change', async () => {
    await put('probe/new.csv', 'sku\nT1\n')
    const source = (await create({ name: 'probe', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ prefix: 'probe/' }) })).json()
    const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${source.id}/test`)
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.ok).toBe(true)
    expect(body.checks.map((c: { name: string }) => c.name)).toEqual(['secret', 'endpoint', 'credentials', 'bucket', 'prefix', 'format'])
    expect(body.checks[4].message).toMatch(/1 object.*1 new/)
    expect(body.checks[5].message).toMatch(/probe\/new\.csv.*CSV/)
    const syncs = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}/syncs`)).json()
    expect(syncs.items).toEqual([])
    const { rows } = await t.database.db.query<{ n: number }>('SELECT count(*) AS n FROM source_files WHERE source_id = $1', [source.id])
    expect(rows[0].n).toBe(0)

    // a failing test names the failing step and stops there
    await t.database.db.query(`UPDATE data_sources SET config = jsonb_set(config, '{bucket}', '"gone-bucket"') WHERE id = $1`, [source.id])
    const failing = (await t.api('POST', `/api/v1/agents/${agentId}/data-sources/${source.id}/test`)).json()
    expect(failing.ok).toBe(false)
    expect(failing.checks.at(-1)).toMatchObject({ name: 'bucket', ok: false })
    expect(failing.checks.at(-1).message).toMatch(/gone-bucket/)
  })

  it('moves nextPullAt with the source\'s and the agent\'s schedule', async () => {
    const source = (await create({ name: 'sched', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ prefix: 'sched/' }) })).json()
    const hourly = await t.api('PATCH', `/api/v1/agents/${agentId}/data-sources/${source.id}`, { body: { scheduleCron: '0 3 * * *' } })
    expect(hourly.statusCode, hourly.body).toBe(200)
    const at3 = new Date(hourly.json().nextPullAt)
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' }).format(at3)).toBe('03:00')
    await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { timezone: 'UTC' } })
    const utc = (await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}`)).json()
    expect(new Date(utc.nextPullAt).getUTCHours()).toBe(3)
    await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { rules: { autoPull: false } } })
    expect((await t.api('GET', `/api/v1/agents/${agentId}/data-sources/${source.id}`)).json().nextPullAt).toBeNull()
    await t.api('PATCH', `/api/v1/agents/${agentId}`, { body: { rules: { autoPull: true }, timezone: 'Europe/Berlin' } })
    const disabled = await t.api('PATCH', `/api/v1/agents/${agentId}/data-sources/${source.id}`, { body: { enabled: false } })
    expect(disabled.json().nextPullAt).toBeNull()
    const bad = await t.api('PATCH', `/api/v1/agents/${agentId}/data-sources/${source.id}`, { body: { scheduleCron: 'every day' } })
    expect(bad.json().code).toBe('INVALID_CRON')
  })

  it('refuses to delete a secret a source uses, naming the source', async () => {
    const res = await t.api('DELETE', `/api/v1/secrets/${secretId}`)
    expect(res.statusCode).toBe(409)
    expect(res.json().code).toBe('SECRET_IN_USE')
    expect(JSON.stringify(res.json().details)).toContain('daily drops')
  })

  it('validates a new value of a secret in use against the sources that use it', async () => {
    const bad = await t.api('PATCH', `/api/v1/secrets/${secretId}`, { body: { value: { accessKeyId: 'AKIAROTATEDWRONG', secretAccessKey: 'y'.repeat(40) } } })
    expect(bad.statusCode).toBe(422)
    expect(bad.json()).toMatchObject({
      code: 'SOURCE_VALIDATION_FAILED', details: { field: 'value', reason: 'unknown_key_id', sourceName: expect.any(String) },
    })
    expect(bad.body).not.toContain('y'.repeat(40))
    // nothing was stored: the sources still pull with the old value
    expect((await t.api('GET', `/api/v1/secrets/${secretId}`)).json().rotatedAt).toBeNull()
    const ok = await t.api('PATCH', `/api/v1/secrets/${secretId}`, { body: { value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json().rotatedAt).toBeTruthy()
    const skipped = await t.api('PATCH', `/api/v1/secrets/${secretId}`, {
      body: { value: { accessKeyId: 'AKIAROTATEDWRONG', secretAccessKey: 'y'.repeat(40) }, validate: false },
    })
    expect(skipped.statusCode).toBe(200)
    await t.api('PATCH', `/api/v1/secrets/${secretId}`, { body: { value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } } })
  })

  it('answers 404 for another organisation\'s agent, source and sync on every route', async () => {
    const other = await t.newOrg('other-org')
    const source = (await create({ name: 'mine', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config({ prefix: 'mine/' }) })).json()
    const sync = await pull(source.id)
    const base = `/api/v1/agents/${agentId}/data-sources`
    for (const [method, url, body] of [
      ['GET', base, undefined], ['POST', base, { name: 'x', role: 'INVENTORY_SOURCE', type: 's3', config: s3Config() }],
      ['GET', `${base}/${source.id}`, undefined], ['PATCH', `${base}/${source.id}`, { name: 'stolen' }], ['DELETE', `${base}/${source.id}`, undefined],
      ['POST', `${base}/${source.id}/test`, undefined], ['POST', `${base}/${source.id}/pull`, undefined],
      ['GET', `${base}/${source.id}/syncs`, undefined], ['GET', `${base}/${source.id}/syncs/${sync.id}`, undefined],
    ] as const) {
      const res = await t.api(method, url, { key: other, body })
      expect(res.statusCode, `${method} ${url}`).toBe(404)
    }
    // the same organisation's source under another of its agents is not found either
    const sibling = (await t.api('POST', '/api/v1/agents', { body: { name: 'sibling' } })).json()
    expect((await t.api('GET', `/api/v1/agents/${sibling.id}/data-sources/${source.id}/syncs`)).statusCode).toBe(404)
    expect((await t.api('GET', `${base}/${source.id}/syncs`)).json().items.map((s: { id: string }) => s.id)).toEqual([sync.id])
  })
})

async function createTestAppStrict () {
  return createTestApp()
}
