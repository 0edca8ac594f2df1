import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { startS3rver, type S3rverHandle } from '../helpers/s3.js'
import { until } from '../helpers/until.js'

let t: TestApp
let s3: S3rverHandle
let agentId: string
let secretId: string
const BUCKET = 'acme-results'

beforeAll(async () => {
  s3 = await startS3rver({ buckets: [BUCKET] })
  t = await createTestApp({
    env: { FERRY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128', FERRY_TARGET_TIMEOUT_MS: '5000', FERRY_PUSH_RETRY_SCHEDULE_MS: '50,50' },
  })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'results' } })).json().id
  const secret = await t.api('POST', '/api/v1/secrets', {
    body: { name: 's3rver', type: 'aws', value: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } },
  })
  secretId = secret.json().id
})
afterAll(async () => {
  await t?.close()
  await s3?.close()
})

const sinkConfig = (extra: Record<string, unknown> = {}) => ({
  bucket: BUCKET, region: 'us-east-1', secretRef: secretId, endpoint: s3.endpoint, forcePathStyle: true, ...extra,
})
const base = () => `/api/v1/agents/${agentId}/data-sources`

const createSink = async (name: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const res = await t.api('POST', base(), { body: { name, role: 'RESULTS_SINK', type: 's3', config: sinkConfig(config), ...extra } })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as { id: string, config: { format: string } }
}

const upload = async (content: string, agent = agentId) => {
  const { payload, headers } = multipartFile(content, { fileName: 'stock.csv' })
  const res = await t.app.inject({
    method: 'POST', url: `/api/v1/agents/${agent}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as { id: string }
}

const jobOf = (uploadId: string) => until('the job', async () => {
  const [job] = (await t.api('GET', `/api/v1/agents/${agentId}/jobs?uploadId=${uploadId}`)).json().items
  return job && (job.status === 'succeeded' || job.status === 'failed') ? job : null
})

/** The sink's syncs once none is running. */
const syncsOf = (sinkId: string, count: number) => until(`${count} finished syncs`, async () => {
  const items = (await t.api('GET', `${base()}/${sinkId}/syncs`)).json().items as Array<{ id: string, status: string }>
  return items.length >= count && items.every(s => s.status !== 'running' && s.status !== 'retrying') ? items : null
})
const fullSync = async (sinkId: string, syncId: string) => (await t.api('GET', `${base()}/${sinkId}/syncs/${syncId}`)).json()

const getObject = async (key: string) => {
  const res = await s3.client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
  return Buffer.from(await res.Body!.transformToByteArray())
}
const keys = async () => ((await s3.client().send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map(o => o.Key!).sort()

describe('pushing results to S3 sinks', () => {
  it('refuses auto-push without a recent passing test, accepts it after one', async () => {
    const refused = await t.api('POST', base(), {
      body: { name: 'eager', role: 'RESULTS_SINK', type: 's3', config: sinkConfig({ prefix: 'eager/' }), autoPush: true },
    })
    expect(refused.statusCode).toBe(409)
    expect(refused.json()).toMatchObject({ code: 'AUTO_PUSH_REQUIRES_TEST', details: { field: 'autoPush' } })
    expect(refused.json().message).toMatch(/test/i)

    const sink = await createSink('later', { prefix: 'later/' })
    const patch = await t.api('PATCH', `${base()}/${sink.id}`, { body: { autoPush: true } })
    expect(patch.statusCode).toBe(409)
    expect(patch.json().code).toBe('AUTO_PUSH_REQUIRES_TEST')

    // a failing test does not count
    await t.database.db.query(`UPDATE data_sources SET config = jsonb_set(config, '{bucket}', '"gone-bucket"') WHERE id = $1`, [sink.id])
    expect((await t.api('POST', `${base()}/${sink.id}/test`)).json().ok).toBe(false)
    expect((await t.api('PATCH', `${base()}/${sink.id}`, { body: { autoPush: true } })).statusCode).toBe(409)
    await t.database.db.query("UPDATE data_sources SET config = jsonb_set(config, '{bucket}', to_jsonb($2::text)) WHERE id = $1", [sink.id, BUCKET])

    const test = await t.api('POST', `${base()}/${sink.id}/test`)
    expect(test.json().ok, test.body).toBe(true)
    const ok = await t.api('PATCH', `${base()}/${sink.id}`, { body: { autoPush: true } })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json().autoPush).toBe(true)

    // a test older than 24 hours is not recent
    await t.database.db.query("UPDATE data_sources SET auto_push = false, last_test_at = now() - interval '25 hours' WHERE id = $1", [sink.id])
    expect((await t.api('PATCH', `${base()}/${sink.id}`, { body: { autoPush: true } })).statusCode).toBe(409)
    await t.api('DELETE', `${base()}/${sink.id}`)
  })

  it('auto-pushes every format after an upload (autoMap → job → push), to the exact key', async () => {
    const sinks = {
      csv: await createSink('csv', { prefix: 'results/' }),
      json: await createSink('json', { prefix: 'by-format', format: 'json' }),
      ndjson: await createSink('ndjson', { prefix: '', format: 'ndjson' }),
      xlsx: await createSink('xlsx', { prefix: '/deep/nested//', format: 'xlsx' }),
    }
    expect(sinks.csv.config.format).toBe('csv')
    for (const sink of Object.values(sinks)) {
      expect((await t.api('POST', `${base()}/${sink.id}/test`)).json().ok).toBe(true)
      expect((await t.api('PATCH', `${base()}/${sink.id}`, { body: { autoPush: true } })).statusCode).toBe(200)
    }
    // a disabled sink gets nothing, even with autoPush on
    const off = await createSink('off', { prefix: 'off/' })
    await t.api('POST', `${base()}/${off.id}/test`)
    await t.api('PATCH', `${base()}/${off.id}`, { body: { autoPush: true, enabled: false } })

    const up = await upload('sku,name,quantity,price\nR-1,"Widget, large",3,1.5\nR-2,=1+1,-5,\n')
    const job = await jobOf(up.id)
    expect(job).toMatchObject({ status: 'succeeded', rows: 2, trigger: 'auto_map' })

    const expected = {
      csv: `results/job-${job.id}.csv`,
      json: `by-format/job-${job.id}.json`,
      ndjson: `job-${job.id}.ndjson`,
      xlsx: `deep/nested/job-${job.id}.xlsx`,
    }
    for (const [format, sink] of Object.entries(sinks) as Array<[keyof typeof expected, { id: string }]>) {
      const [summary] = await syncsOf(sink.id, 1)
      const sync = await fullSync(sink.id, summary.id)
      expect(sync, format).toMatchObject({ direction: 'outbound', trigger: 'job_complete', status: 'succeeded', filesCount: 1, rowsAccepted: 2, error: null })
      expect(sync.manifest).toHaveLength(1)
      const entry = sync.manifest[0]
      expect(entry, format).toMatchObject({
        key: expected[format], status: 'delivered', state: 'delivered', format, rowsAccepted: 2, jobId: job.id, nextAttemptAt: null,
      })
      expect(entry.etag).toBeTruthy()
      expect(entry.attempts).toHaveLength(1)
      expect(entry.attempts[0]).toMatchObject({ attempt: 1, outcome: 'delivered' })
      const body = await getObject(expected[format])
      expect(entry.size).toBe(body.length)
      expect(sync.bytes).toBe(body.length)
    }
    expect((await t.api('GET', `${base()}/${off.id}/syncs`)).json().items).toEqual([])

    expect((await getObject(expected.csv)).toString()).toBe('sku,name,quantity,price,currency,location\r\nR-1,"Widget, large",3,1.5,,\r\nR-2,\'=1+1,-5,,,\r\n')
    expect(JSON.parse((await getObject(expected.json)).toString())).toEqual([
      { sku: 'R-1', name: 'Widget, large', quantity: 3, price: 1.5, currency: null, location: null },
      { sku: 'R-2', name: '=1+1', quantity: -5, price: null, currency: null, location: null },
    ])
    expect((await getObject(expected.ndjson)).toString().trim().split('\n')).toHaveLength(2)
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(await getObject(expected.xlsx) as unknown as ArrayBuffer)
    expect(book.worksheets[0].getRow(3).values).toEqual([undefined, 'R-2', '=1+1', -5])

    // a repeated (manual) push of the same job writes the same key again: no second object
    const before = await keys()
    const again = await t.api('POST', `${base()}/${sinks.csv.id}/push?wait=true`, { body: { jobId: job.id } })
    expect(again.statusCode, again.body).toBe(200)
    expect(again.json()).toMatchObject({ trigger: 'manual', status: 'succeeded', direction: 'outbound' })
    expect(again.json().manifest[0].key).toBe(expected.csv)
    expect(await keys()).toEqual(before)

    // the disabled sink refuses a manual push
    const refused = await t.api('POST', `${base()}/${off.id}/push`, { body: { jobId: job.id } })
    expect(refused.statusCode).toBe(409)
    expect(refused.json().code).toBe('SOURCE_DISABLED')
  })

  it('records a failed S3 push, files a pending item for an automatic one, and resolves it on the next success', async () => {
    const agent = (await t.api('POST', '/api/v1/agents', { body: { name: 'failing results' } })).json().id
    const sinkRes = await t.api('POST', `/api/v1/agents/${agent}/data-sources`, {
      body: { name: 'no bucket', role: 'RESULTS_SINK', type: 's3', config: sinkConfig({ bucket: 'missing-bucket', prefix: 'x/' }), validate: false },
    })
    const sink = sinkRes.json()
    await t.database.db.query('UPDATE data_sources SET auto_push = true WHERE id = $1', [sink.id])
    const up = await upload('sku\nQ-1\n', agent)
    const job = await until('the job', async () => {
      const [j] = (await t.api('GET', `/api/v1/agents/${agent}/jobs?uploadId=${up.id}`)).json().items
      return j?.status === 'succeeded' ? j : null
    })
    const [summary] = await until('a finished sync', async () => {
      const items = (await t.api('GET', `/api/v1/agents/${agent}/data-sources/${sink.id}/syncs`)).json().items
      return items.length && items[0].status !== 'running' && items[0].status !== 'retrying' ? items : null
    })
    const sync = (await t.api('GET', `/api/v1/agents/${agent}/data-sources/${sink.id}/syncs/${summary.id}`)).json()
    expect(sync).toMatchObject({ status: 'failed', error: { code: 'S3_CONFIG' }, filesCount: 0 })
    expect(sync.error.message).toMatch(/missing-bucket/)
    // not retried: a missing bucket does not heal by waiting
    expect(sync.manifest[0]).toMatchObject({ status: 'failed', state: 'failed', key: `x/job-${job.id}.csv` })
    expect(sync.manifest[0].attempts).toHaveLength(1)
    const items = await until('the pending item', async () => {
      const list = (await t.api('GET', `/api/v1/agents/${agent}/pending-items?status=open`)).json().items
      return list.length ? list : null
    })
    expect(items).toMatchObject([{ type: 'DATA_SOURCE_PUSH_FAILED', sourceId: sink.id, occurrences: 1 }])
    expect(items[0].message).toMatch(/missing-bucket/)

    await s3.createBucket('missing-bucket')
    const ok = await t.api('POST', `/api/v1/agents/${agent}/data-sources/${sink.id}/push?wait=true`, { body: { jobId: job.id } })
    expect(ok.json()).toMatchObject({ status: 'succeeded' })
    const resolved = await until('the resolution', async () => {
      const list = (await t.api('GET', `/api/v1/agents/${agent}/pending-items?status=resolved`)).json().items
      return list.length ? list : null
    })
    expect(resolved[0]).toMatchObject({ status: 'resolved', resolution: 'auto' })
  })

  it('checks manual pushes: sink role, job state, other organisations', async () => {
    const sink = await createSink('manual', { prefix: 'manual/' })
    const source = await t.api('POST', base(), { body: { name: 'in', role: 'INVENTORY_SOURCE', type: 's3', config: sinkConfig({ prefix: 'in/' }) } })
    const up = await upload('sku\nM-1\n')
    const job = await jobOf(up.id)

    const toSource = await t.api('POST', `${base()}/${source.json().id}/push`, { body: { jobId: job.id } })
    expect(toSource.statusCode).toBe(409)
    const unknownJob = await t.api('POST', `${base()}/${sink.id}/push`, { body: { jobId: '00000000-0000-4000-8000-000000000000' } })
    expect(unknownJob.statusCode).toBe(404)
    expect((await t.api('POST', `${base()}/${sink.id}/push`, { body: {} })).statusCode).toBe(400)

    const queued = await t.database.db.query<{ id: string }>(
      `INSERT INTO mapping_jobs (id, org_id, agent_id, upload_id, status, trigger, output)
       SELECT gen_random_uuid(), org_id, agent_id, upload_id, 'queued', 'manual', output FROM mapping_jobs WHERE id = $1 RETURNING id`, [job.id])
    const notDone = await t.api('POST', `${base()}/${sink.id}/push`, { body: { jobId: queued.rows[0].id } })
    expect(notDone.statusCode).toBe(409)
    expect(notDone.json().details.jobStatus).toBe('queued')

    const accepted = await t.api('POST', `${base()}/${sink.id}/push`, { body: { jobId: job.id } })
    expect(accepted.statusCode).toBe(202)
    expect(accepted.json().syncId).toBeTruthy()

    // another organisation: its key on our routes, and our job id on its own sink
    const other = await t.newOrg('push-other')
    expect((await t.api('POST', `${base()}/${sink.id}/push`, { key: other, body: { jobId: job.id } })).statusCode).toBe(404)
    const otherAgent = (await t.api('POST', '/api/v1/agents', { key: other, body: { name: 'theirs' } })).json().id
    const otherSecret = (await t.api('POST', '/api/v1/secrets', {
      key: other, body: { name: 's', type: 'aws', value: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
    })).json().id
    const otherSink = (await t.api('POST', `/api/v1/agents/${otherAgent}/data-sources`, {
      key: other, body: { name: 'theirs', role: 'RESULTS_SINK', type: 's3', config: { ...sinkConfig({ prefix: 'theirs/' }), secretRef: otherSecret } },
    })).json().id
    const stolen = await t.api('POST', `/api/v1/agents/${otherAgent}/data-sources/${otherSink}/push`, { key: other, body: { jobId: job.id } })
    expect(stolen.statusCode).toBe(404)
    expect(stolen.json().code).toBe('NOT_FOUND')
    await syncsOf(sink.id, 1)
    expect((await keys()).filter(k => k.startsWith('theirs/'))).toEqual([])
  })
})
