import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'
import { until } from '../helpers/poll.js'
import { runMappingJob } from '../../src/mapping/service.js'

let t: TestApp

beforeAll(async () => { t = await createTestApp() })
afterAll(async () => { await t?.close() })

const newAgent = async (body: Record<string, unknown>, key?: string): Promise<string> => {
  const res = await t.api('POST', '/api/v1/agents', { body: { name: 'jobs', ...body }, key })
  expect(res.statusCode, res.body).toBe(201)
  return res.json().id
}

const upload = async (agentId: string, content: string, fileName = 'inventory.csv') => {
  const { payload, headers } = multipartFile(content, { fileName })
  const res = await t.app.inject({
    method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as { id: string }
}

/** Polls a job until it leaves queued/running. */
const finished = (agentId: string, jobId: string) => until(`job ${jobId} to finish`, async () => {
  const job = (await t.api('GET', `/api/v1/agents/${agentId}/jobs/${jobId}`)).json()
  return (job.status === 'succeeded' || job.status === 'failed') && job
})

const jobsOfUpload = async (agentId: string, uploadId: string) =>
  (await t.api('GET', `/api/v1/agents/${agentId}/jobs?uploadId=${uploadId}`)).json().items as Array<{ id: string, trigger: string }>

const results = async (agentId: string, jobId: string, format?: string) => {
  const res = await t.api('GET', `/api/v1/agents/${agentId}/jobs/${jobId}/results${format ? `?format=${format}` : ''}`)
  expect(res.statusCode, res.body).toBe(200)
  return res
}

describe('mapping jobs', () => {
  it('starts a job after every upload with rules.autoMap, projecting the canonical fields by default', async () => {
    const agentId = await newAgent({})
    const up = await upload(agentId, 'sku,name,quantity,price,currency,location,colour\nA-1,Widget,5,9.5,EUR,WH1,red\nA-2,Gadget,,,,,\n')
    const jobs = await jobsOfUpload(agentId, up.id)
    expect(jobs).toHaveLength(1)
    expect(jobs[0].trigger).toBe('auto_map')
    const job = await finished(agentId, jobs[0].id)
    expect(job).toMatchObject({
      status: 'succeeded', rows: 2, uploadId: up.id, columns: ['sku', 'name', 'quantity', 'price', 'currency', 'location'], error: null,
    })
    expect(job.finishedAt).toBeTruthy()
    const res = await results(agentId, job.id)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.headers['content-disposition']).toBe(`attachment; filename="job-${job.id}.json"`)
    expect(res.json()).toEqual([
      { sku: 'A-1', name: 'Widget', quantity: 5, price: 9.5, currency: 'EUR', location: 'WH1' },
      { sku: 'A-2', name: 'Gadget', quantity: null, price: null, currency: null, location: null },
    ])
  })

  it('starts nothing without autoMap; POST /jobs starts one by hand', async () => {
    const agentId = await newAgent({ rules: { autoMap: false } })
    const up = await upload(agentId, 'sku,quantity\nB-1,1\n')
    expect(await jobsOfUpload(agentId, up.id)).toEqual([])
    const created = await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })
    expect(created.statusCode, created.body).toBe(201)
    expect(created.json()).toMatchObject({ status: 'queued', trigger: 'manual', uploadId: up.id, rows: 0 })
    const job = await finished(agentId, created.json().id)
    expect(job).toMatchObject({ status: 'succeeded', rows: 1 })
    const list = (await t.api('GET', `/api/v1/agents/${agentId}/jobs`)).json()
    expect(list.items.map((j: { id: string }) => j.id)).toEqual([job.id])
  })

  it('projects through mapping.output: order, attributes.<name>, transforms; every format', async () => {
    const agentId = await newAgent({
      rules: { autoMap: false },
      mapping: {
        output: [
          { column: 'SKU', from: 'sku', transform: 'lower' },
          { column: '1', from: 'attributes.size.cm', transform: 'number' },
          { column: 'Colour', from: 'attributes.colour', transform: 'upper' },
          { column: 'Stock', from: 'quantity', transform: 'string' },
          { column: 'Label', from: 'attributes.label', transform: 'trim' },
          { column: 'Missing', from: 'attributes.nope' },
        ],
      },
    })
    const up = await upload(agentId, 'sku,quantity,size.cm,colour,label\nAB-1,7,12.5,red,"  padded  "\nAB-2,,n/a,,\n')
    const job = await finished(agentId, (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })).json().id)
    expect(job.columns).toEqual(['SKU', '1', 'Colour', 'Stock', 'Label', 'Missing'])

    const json = await results(agentId, job.id, 'json')
    // key order is the column order, even for an integer-like column name
    expect(json.body.indexOf('"SKU"')).toBeLessThan(json.body.indexOf('"1"'))
    expect(json.json()).toEqual([
      { SKU: 'ab-1', 1: 12.5, Colour: 'RED', Stock: '7', Label: 'padded', Missing: null },
      // empty cells of non-canonical columns are kept as empty text; absent ones are null
      { SKU: 'ab-2', 1: null, Colour: '', Stock: null, Label: '', Missing: null },
    ])

    const ndjson = await results(agentId, job.id, 'ndjson')
    expect(ndjson.headers['content-type']).toMatch(/^application\/x-ndjson/)
    expect(ndjson.body.trim().split('\n').map(l => JSON.parse(l))).toEqual(json.json())

    const csv = await results(agentId, job.id, 'csv')
    expect(csv.headers['content-type']).toMatch(/^text\/csv/)
    expect(csv.body).toBe('SKU,1,Colour,Stock,Label,Missing\r\nab-1,12.5,RED,7,padded,\r\nab-2,,,,,\r\n')

    const xlsx = await results(agentId, job.id, 'xlsx')
    expect(xlsx.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(xlsx.rawPayload as unknown as ArrayBuffer)
    const sheet = book.worksheets[0]
    expect(sheet.getRow(1).values).toEqual([undefined, 'SKU', '1', 'Colour', 'Stock', 'Label', 'Missing'])
    expect(sheet.getRow(2).values).toEqual([undefined, 'ab-1', 12.5, 'RED', '7', 'padded'])
    expect(sheet.rowCount).toBe(3)
  })

  it('escapes formula-leading text in CSV, never numbers', async () => {
    const agentId = await newAgent({
      rules: { autoMap: false },
      mapping: {
        output: [
          { column: 'sku', from: 'sku' },
          { column: 'qty', from: 'quantity' },
          { column: 'a', from: 'attributes.a' },
          { column: 'b', from: 'attributes.b' },
          { column: 'c', from: 'attributes.c' },
          { column: 'd', from: 'attributes.d' },
          { column: 'e', from: 'attributes.e' },
          { column: '=cmd', from: 'attributes.f' },
        ],
      },
    })
    const rows = [
      { sku: '=HYPERLINK("http://evil.example","x")', quantity: -5, a: '+1', b: '@SUM(A1)', c: '\t=1', d: '\r=2', e: '-5', f: 'plain, with comma' },
    ]
    const up = await upload(agentId, rows.map(r => JSON.stringify(r)).join('\n') + '\n', 'inventory.ndjson')
    const job = await finished(agentId, (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })).json().id)
    expect(job.status).toBe('succeeded')
    const csv = (await results(agentId, job.id, 'csv')).body
    const [header, line] = csv.split('\r\n')
    expect(header).toBe("sku,qty,a,b,c,d,e,'=cmd")
    expect(line).toBe(`"'=HYPERLINK(""http://evil.example"",""x"")",-5,'+1,'@SUM(A1),'\t=1,"'\r=2",'-5,"plain, with comma"`)
    // JSON keeps the values as they are: escaping is a spreadsheet concern
    expect((await results(agentId, job.id, 'json')).json()[0]).toMatchObject({ sku: rows[0].sku, qty: -5, e: '-5' })
  })

  it('streams results larger than one page in order', async () => {
    const agentId = await newAgent({ rules: { autoMap: false } })
    const n = 4321
    let csv = 'sku,quantity\n'
    for (let i = 1; i <= n; i++) csv += `S-${i},${i}\n`
    const up = await upload(agentId, csv)
    const job = await finished(agentId, (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })).json().id)
    expect(job.rows).toBe(n)
    const lines = (await results(agentId, job.id, 'ndjson')).body.trim().split('\n')
    expect(lines).toHaveLength(n)
    expect(JSON.parse(lines[0])).toMatchObject({ sku: 'S-1', quantity: 1 })
    expect(JSON.parse(lines[n - 1])).toMatchObject({ sku: `S-${n}`, quantity: n })
    expect(lines.map(l => JSON.parse(l).quantity)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
  })

  it('copies of one job running at once (a redelivered queue job next to a slow one) leave its results exactly once', async () => {
    const agentId = await newAgent({ rules: { autoMap: false } })
    const n = 5500 // several chunks of results, so the copies interleave
    let csv = 'sku,quantity\n'
    for (let i = 1; i <= n; i++) csv += `S-${i},${i}\n`
    const up = await upload(agentId, csv)
    // the queue's worker runs it too: three copies in all
    const jobId = (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })).json().id as string
    const copies = await Promise.all([runMappingJob(t.runtime.deps, jobId), runMappingJob(t.runtime.deps, jobId)])
    const job = await finished(agentId, jobId)
    expect(job).toMatchObject({ status: 'succeeded', rows: n })
    // a copy that was taken over stops without an outcome; at most one copy made the job succeed
    expect(copies.filter(c => c?.status === 'succeeded').length).toBeLessThanOrEqual(1)
    const lines = (await results(agentId, jobId, 'ndjson')).body.trim().split('\n')
    expect(lines.map(l => JSON.parse(l).quantity)).toEqual(Array.from({ length: n }, (_, i) => i + 1))
  })

  it('writes a big job\'s results in short transactions: the API answers while it runs', async () => {
    const agentId = await newAgent({ rules: { autoMap: false } })
    let csv = 'sku,quantity\n'
    for (let i = 1; i <= 20_000; i++) csv += `S-${i},${i}\n`
    const up = await upload(agentId, csv)
    const created = (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })).json()
    // reads while the job runs: on PGlite (one connection) a job written in one transaction held the
    // connection to its end, so every read waited and saw it finished; in chunks, reads see it running
    const seen = new Set<string>()
    const job = await until(`job ${created.id} to finish`, async () => {
      const current = (await t.api('GET', `/api/v1/agents/${agentId}/jobs/${created.id}`)).json()
      seen.add(current.status)
      return current.status === 'succeeded' && current
    }, 60_000, 10)
    expect(job).toMatchObject({ status: 'succeeded', rows: 20_000 })
    expect([...seen]).toContain('running')
  })

  it('refuses a mapping that cannot run at save, and records why when autoMap hits one saved before that check', async () => {
    const bogus = await t.api('POST', '/api/v1/agents', { body: { name: 'bogus', mapping: { output: [{ column: 'x', from: 'bogus' }] } } })
    expect(bogus.statusCode).toBe(400)
    expect(bogus.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'mapping.output[0].from' } })
    const dup = await t.api('POST', '/api/v1/agents', {
      body: { name: 'dup', mapping: { output: [{ column: 'x', from: 'sku' }, { column: 'x', from: 'name' }] } },
    })
    expect(dup.statusCode).toBe(400)
    expect(dup.json().details.field).toBe('mapping.output[1].column')

    // an agent whose mapping was saved before mappings were checked at save time
    const agentId = await newAgent({})
    await t.database.db.query(`UPDATE agents SET mapping = jsonb_set(mapping, '{output}', '[{"column":"x","from":"bogus"}]') WHERE id = $1`, [agentId])
    const up = await upload(agentId, 'sku\nC-1\n')
    const res = await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'mapping.output[0].from' } })
    const [auto] = await jobsOfUpload(agentId, up.id)
    const job = await finished(agentId, auto.id)
    expect(job).toMatchObject({ status: 'failed', error: { code: 'VALIDATION_FAILED' } })
    expect(job.error.message).toMatch(/bogus/)
    const noResults = await t.api('GET', `/api/v1/agents/${agentId}/jobs/${job.id}/results`)
    expect(noResults.statusCode).toBe(409)
  })

  it('validates input: unknown or rejected uploads, bad bodies, unknown formats', async () => {
    const agentId = await newAgent({ rules: { autoMap: false } })
    const unknown = await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: '00000000-0000-4000-8000-000000000000' } })
    expect(unknown.statusCode).toBe(404)
    expect((await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: 'not-a-uuid' } })).statusCode).toBe(400)
    expect((await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: {} })).statusCode).toBe(400)
    const extraField = await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: '00000000-0000-4000-8000-000000000000', extra: 1 } })
    expect(extraField.statusCode).toBe(400)

    const { payload, headers } = multipartFile('[{"sku": "x"},', { fileName: 'broken.json' })
    const rejected = await t.app.inject({
      method: 'POST', url: `/api/v1/agents/${agentId}/inventory/uploads`, payload, headers: { ...headers, authorization: `Bearer ${t.adminKey}` },
    })
    expect(rejected.statusCode).toBe(422)
    const rejectedId = rejected.json().details.uploadId
    const res = await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: rejectedId } })
    expect(res.statusCode).toBe(409)

    const up = await upload(agentId, 'sku\nE-1\n')
    const job = await finished(agentId, (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })).json().id)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/jobs/${job.id}/results?format=pdf`)).statusCode).toBe(400)
  })

  it('answers 404 for another organisation\'s agent, upload and job on every route', async () => {
    const agentId = await newAgent({ rules: { autoMap: false } })
    const up = await upload(agentId, 'sku\nF-1\n')
    const job = await finished(agentId, (await t.api('POST', `/api/v1/agents/${agentId}/jobs`, { body: { uploadId: up.id } })).json().id)
    const other = await t.newOrg('jobs-other')
    const otherAgent = await newAgent({}, other)
    for (const [method, url, body] of [
      ['POST', `/api/v1/agents/${agentId}/jobs`, { uploadId: up.id }],
      ['GET', `/api/v1/agents/${agentId}/jobs`, undefined],
      ['GET', `/api/v1/agents/${agentId}/jobs/${job.id}`, undefined],
      ['GET', `/api/v1/agents/${agentId}/jobs/${job.id}/results?format=csv`, undefined],
      // the other org's own agent with our ids
      ['POST', `/api/v1/agents/${otherAgent}/jobs`, { uploadId: up.id }],
      ['GET', `/api/v1/agents/${otherAgent}/jobs/${job.id}`, undefined],
      ['GET', `/api/v1/agents/${otherAgent}/jobs/${job.id}/results`, undefined],
    ] as const) {
      const res = await t.api(method, url, { key: other, body })
      expect(res.statusCode, `${method} ${url}`).toBe(404)
      expect(res.body).not.toContain('F-1')
    }
    const list = await t.api('GET', `/api/v1/agents/${otherAgent}/jobs`, { key: other })
    expect(list.json().items).toEqual([])
  })
})

describe('a job names its file and source', () => {
  it('the job answers carry the upload\'s file name and source (null for a manual upload; the name of an inbound source)', async () => {
    const agentId = await newAgent({})
    const up = await upload(agentId, 'sku,quantity\nA-1,5\n', 'stock-2026-12-04.csv')
    const [manual] = await jobsOfUpload(agentId, up.id)
    const job = await finished(agentId, manual.id)
    expect(job.upload).toEqual({ fileName: 'stock-2026-12-04.csv', sourceId: null, sourceName: null })

    const source = (await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: { name: 'warehouse feed', role: 'INVENTORY_SOURCE', type: 'webhook', config: {} },
    })).json()
    await t.database.db.query('UPDATE inventory_uploads SET source_id = $1 WHERE id = $2', [source.id, up.id])
    const listed = (await t.api('GET', `/api/v1/agents/${agentId}/jobs`)).json().items
    expect(listed[0].upload).toEqual({ fileName: 'stock-2026-12-04.csv', sourceId: source.id, sourceName: 'warehouse feed' })
  })
})
