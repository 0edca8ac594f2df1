import { createHmac, randomUUID } from 'node:crypto'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startS3World, type S3World } from '../helpers/s3-world.js'
import { multipartFile } from '../helpers/multipart.js'
import { makeZip } from '../fixtures/formats/zip.js'
import {
  SEMICOLON_ITEMS, SEMICOLON_PARSE, noSkuCsv, semicolonCsv, stockParquet, titledCsv, twoCsvZip, twoSheetWorkbook,
} from '../fixtures/formats/imports.js'

/**
 * Issue "imports that land right" (docs/formats.md): each supplier file lands as a person expects,
 * through an S3 pull AND through the inbound webhook, with the same manifest entries, on both
 * backends (this file runs under the pglite and postgres projects).
 */

const BUCKET = 'imports'
let w: S3World
let agentId: string

beforeAll(async () => {
  w = await startS3World({ bucket: BUCKET, name: 'imports', env: { FERRY_INBOUND_RATE_LIMIT_PER_MINUTE: '1000' } })
  agentId = w.agentId
})
afterAll(async () => { await w?.close() })

type Entry = Record<string, unknown> & {
  key: string, status: string, uploadId?: string, code?: string, reason?: string, warnings?: Array<{ code: string, columns?: string[] }>
}
interface Landed { status: string, manifest: Entry[], syncId: string, sourceId: string }

const putObject = (key: string, body: Buffer) => w.store.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))

/** A new S3 source on its own prefix with `config`, the file put there, one pull. */
async function pullOne (prefix: string, fileName: string, body: Buffer, config: Record<string, unknown> = {}): Promise<Landed> {
  const sourceId = await w.newSource(`${prefix}/`, { endpoint: w.store.endpoint, config })
  await putObject(`${prefix}/${fileName}`, body)
  const res = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources/${sourceId}/pull?wait=true`)
  expect(res.statusCode, res.body).toBe(200)
  return { status: res.json().status, manifest: res.json().manifest, syncId: res.json().id, sourceId }
}

/** A new inbound webhook source with `config`, one signed delivery of the file. */
async function deliverOne (
  fileName: string, body: Buffer, config: Record<string, unknown> = {}, headers: Record<string, string> = {}
): Promise<Landed & { http: number, answer: Record<string, unknown> }> {
  const created = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
    body: { name: `in ${fileName} ${randomUUID()}`, role: 'INVENTORY_SOURCE', type: 'webhook', config },
  })
  expect(created.statusCode, created.body).toBe(201)
  const { id: sourceId, signingSecret } = created.json() as { id: string, signingSecret: string }
  const id = `msg_${randomUUID()}`
  const timestamp = String(Math.floor(Date.now() / 1000))
  const key = Buffer.from(signingSecret.replace(/^whsec_/, ''), 'base64')
  const signature = 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')
  const res = await w.t.app.inject({
    method: 'POST',
    url: `/api/v1/inbound/${sourceId}`,
    headers: {
      'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature,
      'content-type': 'application/octet-stream', 'x-file-name': fileName, ...headers,
    },
    payload: body,
  })
  const answer = res.json() as Record<string, unknown> & { syncId?: string, details?: { syncId?: string } }
  const syncId = answer.syncId ?? answer.details?.syncId
  if (!syncId) return { http: res.statusCode, answer, status: 'none', manifest: [], syncId: '', sourceId }
  const sync = (await w.t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sourceId}/syncs/${syncId}`)).json()
  return { http: res.statusCode, answer, status: sync.status, manifest: sync.manifest, syncId, sourceId }
}

const itemsOf = async (uploadId: string) =>
  (await w.t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${uploadId}/items`)).json().items as Array<Record<string, unknown>>

const landedItems = async (manifest: Entry[]) => (await Promise.all(manifest.filter(e => e.status === 'ingested').map(e => itemsOf(e.uploadId!)))).flat()

describe('parse options land the file as a person expects, through S3 and through the inbound webhook', () => {
  it('";" with a decimal comma and a thousands dot (source config.parse, or X-Ferry-Parse on the delivery)', async () => {
    const pulled = await pullOne('semi', 'stock.csv', semicolonCsv(), { parse: SEMICOLON_PARSE })
    const delivered = await deliverOne('stock.csv', semicolonCsv(), { parse: SEMICOLON_PARSE })
    const byHeader = await deliverOne('stock.csv', semicolonCsv(), {}, { 'x-ferry-parse': JSON.stringify(SEMICOLON_PARSE) })
    for (const landed of [pulled, delivered, byHeader]) {
      expect(landed.status).toBe('succeeded')
      expect(landed.manifest).toMatchObject([{ key: expect.stringMatching(/stock\.csv$/), status: 'ingested', rowsAccepted: 2, rowsRejected: 0 }])
      expect(await landedItems(landed.manifest)).toMatchObject(SEMICOLON_ITEMS)
    }
    // without the options the prices are rejected row by row: what the issue saw
    const plain = await deliverOne('stock.csv', semicolonCsv())
    expect(plain.manifest[0]).toMatchObject({
      rowsAccepted: 0, rowsRejected: 2, errors: [{ row: 2, message: 'price "2,50" is not a number' }, expect.anything()],
    })
    // a bad header is refused before anything is read
    const bad = await deliverOne('stock.csv', semicolonCsv(), {}, { 'x-ferry-parse': '{"decimalSeparator":";"}' })
    expect([bad.http, bad.answer.code, bad.status]).toEqual([400, 'VALIDATION_FAILED', 'none'])
  })

  it('the header on line 3 (title lines above it skipped)', async () => {
    const config = { parse: { headerRow: 3 } }
    for (const landed of [await pullOne('titled', 'report.csv', titledCsv(), config), await deliverOne('report.csv', titledCsv(), config)]) {
      expect(landed.status).toBe('succeeded')
      expect(await landedItems(landed.manifest)).toMatchObject([{ rowNumber: 4, sku: 'B1', quantity: 5 }, { rowNumber: 5, sku: 'B2', quantity: 6 }])
    }
  })

  it('a windows-1252 file lands with an ENCODING_FALLBACK warning; parse.encoding reads ISO-8859-2 without one', async () => {
    const cp1252 = Buffer.from('sku,name\nE1,Caf\xe9\n', 'latin1')
    for (const landed of [await pullOne('cp1252', 'fr.csv', cp1252), await deliverOne('fr.csv', cp1252)]) {
      expect(landed.manifest[0].warnings).toEqual([expect.objectContaining({ code: 'ENCODING_FALLBACK' })])
      expect(await landedItems(landed.manifest)).toMatchObject([{ sku: 'E1', name: 'Café' }])
    }
    const latin2 = Buffer.from([...Buffer.from('sku,name\nL1,'), 0xb3, 0xf3, 0x64, 0xea, 0x0a])
    const config = { parse: { encoding: 'iso-8859-2' } }
    for (const landed of [await pullOne('latin2', 'pl.csv', latin2, config), await deliverOne('pl.csv', latin2, config)]) {
      expect(landed.manifest[0].warnings).toBeUndefined()
      expect(await landedItems(landed.manifest)).toMatchObject([{ sku: 'L1', name: 'łódę' }])
    }
  })

  it('sheet "Stock" of a two-sheet workbook; the default first sheet is NO_ROWS naming "Stock", and the sync is partial', async () => {
    const book = await twoSheetWorkbook()
    const config = { parse: { sheet: 'Stock' } }
    for (const landed of [await pullOne('sheet', 'book.xlsx', book, config), await deliverOne('book.xlsx', book, config)]) {
      expect(landed.status).toBe('succeeded')
      expect(landed.manifest[0].warnings).toEqual([expect.objectContaining({ code: 'UNMAPPED_COLUMNS', columns: ['Description'] })])
      expect((await landedItems(landed.manifest)).map(i => i.sku)).toEqual(['S1', 'S2'])
    }
    const pulled = await pullOne('nosheet', 'book.xlsx', book)
    const delivered = await deliverOne('book.xlsx', book)
    expect(delivered.http).toBe(422)
    expect(delivered.answer).toMatchObject({ code: 'NO_ROWS', details: { status: 'partial' } })
    for (const landed of [pulled, delivered]) {
      expect(landed.status).toBe('partial')
      expect(landed.manifest).toMatchObject([{ status: 'rejected', code: 'NO_ROWS', rowsAccepted: 0 }])
      expect(landed.manifest[0].reason).toMatch(/sheet "Notes".*"Stock"/)
    }
  })

  it('a file whose columns have no sku is NO_SKU_COLUMN listing them; the source fieldMap fixes it', async () => {
    const pulled = await pullOne('nosku', 'de.csv', noSkuCsv())
    const delivered = await deliverOne('de.csv', noSkuCsv())
    expect(delivered.answer).toMatchObject({ code: 'NO_SKU_COLUMN' })
    for (const landed of [pulled, delivered]) {
      expect(landed.status).toBe('partial')
      expect(landed.manifest).toMatchObject([{ status: 'rejected', code: 'NO_SKU_COLUMN', reason: expect.stringContaining('"Artikel", "Bestand"') }])
    }
    const fieldMap = { sku: 'Artikel', quantity: 'Bestand' }
    for (const landed of [await pullOne('mapped', 'de.csv', noSkuCsv(), { fieldMap }), await deliverOne('de.csv', noSkuCsv(), { fieldMap })]) {
      expect(landed.status).toBe('succeeded')
      expect(await landedItems(landed.manifest)).toMatchObject([{ sku: 'X1', quantity: 1 }, { sku: 'X2', quantity: 2 }])
    }
  })

  it('a zip of two CSVs: each member is a file of the sync, keyed archive.zip!member', async () => {
    const pulled = await pullOne('zip', 'drop.zip', twoCsvZip())
    const delivered = await deliverOne('drop.zip', twoCsvZip())
    for (const landed of [pulled, delivered]) {
      expect(landed.status).toBe('succeeded')
      const prefix = landed === pulled ? 'zip/drop.zip' : 'drop.zip'
      expect(landed.manifest).toMatchObject([
        { key: `${prefix}!north.csv`, status: 'ingested', format: 'csv', rowsAccepted: 2 },
        { key: `${prefix}!south/south.csv`, status: 'ingested', rowsAccepted: 1, warnings: [{ code: 'UNMAPPED_COLUMNS', columns: ['Colour'] }] },
        { key: `${prefix}!readme.pdf`, status: 'skipped' },
      ])
      expect((await landedItems(landed.manifest)).map(i => i.sku)).toEqual(['N1', 'N2', 'S1'])
    }
    // Test names it an archive, not an XLSX workbook
    const tested = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources/${pulled.sourceId}/test`)
    const checks = tested.json().checks as Array<{ name: string, message: string }>
    expect(checks.find(c => c.name === 'format')?.message).toMatch(/zip\/drop\.zip, is a zip archive/)
    // the archive is one ledger row: the next pull takes nothing again
    const again = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources/${pulled.sourceId}/pull?wait=true`)
    expect(again.json()).toMatchObject({ status: 'succeeded', manifest: [] })
  })

  it('a Parquet file, typed columns mapped to the canonical fields', async () => {
    for (const landed of [await pullOne('pq', 'stock.parquet', stockParquet()), await deliverOne('stock.parquet', stockParquet())]) {
      expect(landed.status).toBe('succeeded')
      expect(landed.manifest).toMatchObject([{ status: 'ingested', format: 'parquet', rowsAccepted: 3 }])
      expect(await landedItems(landed.manifest)).toMatchObject([
        { sku: 'P1', quantity: 10, price: 1.5, attributes: { updated: '2026-11-30T08:00:00.000Z' } },
        { sku: 'P2', quantity: 20, price: 2.25 },
        { sku: 'P3', quantity: 30, price: 3 },
      ])
    }
  })

  it('uploads take parse options in a multipart field and refuse a file without rows with NO_ROWS', async () => {
    const form = multipartFile(semicolonCsv(), { fileName: 'stock.csv', fields: { parse: JSON.stringify(SEMICOLON_PARSE) } })
    const res = await w.t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: form.payload, headers: form.headers })
    expect(res.statusCode, res.body).toBe(201)
    expect(await itemsOf(res.json().id)).toMatchObject(SEMICOLON_ITEMS)
    const empty = multipartFile(await twoSheetWorkbook(), { fileName: 'book.xlsx' })
    const refused = await w.t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: empty.payload, headers: empty.headers })
    expect(refused.statusCode).toBe(422)
    expect(refused.json()).toMatchObject({ code: 'NO_ROWS', message: expect.stringContaining('"Stock"') })
    // a zip: one upload per member, the answer lists them
    const zip = multipartFile(twoCsvZip(), { fileName: 'drop.zip' })
    const archive = await w.t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: zip.payload, headers: zip.headers })
    expect(archive.statusCode, archive.body).toBe(201)
    expect(archive.json()).toMatchObject({
      fileName: 'drop.zip!north.csv',
      rowsAccepted: 2,
      files: [
        { key: 'drop.zip!north.csv', status: 'ingested' },
        { key: 'drop.zip!south/south.csv', status: 'ingested' },
        { key: 'drop.zip!readme.pdf', status: 'skipped' },
      ],
    })
    expect((await itemsOf(archive.json().files[1].uploadId)).map(i => i.sku)).toEqual(['S1'])
    // an archive with nothing readable in it is refused as a whole
    const pdfs = multipartFile(makeZip([{ name: 'a.pdf', data: Buffer.from('%PDF-1.7\n') }]), { fileName: 'docs.zip' })
    const none = await w.t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: pdfs.payload, headers: pdfs.headers })
    expect([none.statusCode, none.json().code]).toEqual([422, 'UNSUPPORTED_FORMAT'])
  })
})

describe('source settings', () => {
  it('config.parse and fieldMap are saved, cleared one field at a time with null, and refused on sinks', async () => {
    const sourceId = await w.newSource('settings/', {
      endpoint: w.store.endpoint, config: { parse: { delimiter: ';', encoding: 'latin1', sheet: null }, fieldMap: { sku: 'Artikel' } },
    })
    const path = `/api/v1/agents/${agentId}/data-sources/${sourceId}`
    expect((await w.t.api('GET', path)).json().config).toMatchObject({ parse: { delimiter: ';', encoding: 'windows-1252' }, fieldMap: { sku: 'Artikel' } })
    const patched = await w.t.api('PATCH', path, { body: { config: { parse: { encoding: null, headerRow: 2 }, fieldMap: null }, validate: false } })
    expect(patched.statusCode, patched.body).toBe(200)
    expect(patched.json().config.parse).toEqual({ delimiter: ';', headerRow: 2 })
    expect(patched.json().config.fieldMap).toBeUndefined()
    const bad = await w.t.api('PATCH', path, { body: { config: { parse: { encoding: 'martian' } }, validate: false } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ details: { field: 'config.parse.encoding' } })
    const sink = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources`, {
      body: {
        name: 'sink', role: 'RESULTS_SINK', type: 's3', validate: false,
        config: { bucket: BUCKET, prefix: 'out/', secretRef: w.secretId, parse: { delimiter: ';' } },
      },
    })
    expect(sink.statusCode).toBe(400)
  })

  it('migration 012 moves an agent\'s mapping.sheetName to its inventory sources\' parse.sheet', async () => {
    const db = w.t.database.db
    const agent = (await w.t.api('POST', '/api/v1/agents', { body: { name: 'legacy', rules: { autoPull: false } } })).json().id as string
    const created = await w.t.api('POST', `/api/v1/agents/${agent}/data-sources`, {
      body: { name: 'legacy src', role: 'INVENTORY_SOURCE', type: 's3', validate: false, config: { bucket: BUCKET, prefix: 'legacy/', secretRef: w.secretId } },
    })
    const keeps = await w.t.api('POST', `/api/v1/agents/${agent}/data-sources`, {
      body: {
        name: 'own sheet', role: 'INVENTORY_SOURCE', type: 's3', validate: false,
        config: { bucket: BUCKET, prefix: 'own/', secretRef: w.secretId, parse: { sheet: 'Own' } },
      },
    })
    await db.query('UPDATE agents SET mapping = mapping || \'{"sheetName":"Stock"}\'::jsonb WHERE id = $1', [agent])
    const { MIGRATIONS } = await import('../../src/db/migrations/index.js')
    await db.exec(MIGRATIONS.find(m => m.name === 'parse_options')!.sql)
    const { rows } = await db.query<{ id: string, parse: unknown }>('SELECT id, config->\'parse\' AS parse FROM data_sources WHERE agent_id = $1', [agent])
    expect(Object.fromEntries(rows.map(r => [r.id, r.parse]))).toEqual({ [created.json().id]: { sheet: 'Stock' }, [keeps.json().id]: { sheet: 'Own' } })
    expect((await w.t.api('GET', `/api/v1/agents/${agent}`)).json().mapping).toEqual({ fieldMap: {}, output: [] })
    // the agent field is gone from the API; its field map clears with null
    expect((await w.t.api('PATCH', `/api/v1/agents/${agent}`, { body: { mapping: { sheetName: 'Stock' } } })).statusCode).toBe(400)
    await w.t.api('PATCH', `/api/v1/agents/${agent}`, { body: { mapping: { fieldMap: { sku: 'Item No', name: 'Title' } } } })
    const cleared = await w.t.api('PATCH', `/api/v1/agents/${agent}`, { body: { mapping: { fieldMap: null } } })
    expect(cleared.json().mapping.fieldMap).toEqual({})
  })
})

describe('preview: read-only, no sync, no ledger row', () => {
  const s3Config = (prefix: string) => ({ bucket: BUCKET, prefix, secretRef: w.secretId, endpoint: w.store.endpoint, forcePathStyle: true })
  const footprint = async () => {
    const { rows } = await w.t.database.db.query<{ syncs: number, ledger: number, uploads: number }>(
      `SELECT (SELECT count(*)::int FROM syncs) AS syncs, (SELECT count(*)::int FROM source_files) AS ledger,
              (SELECT count(*)::int FROM inventory_uploads) AS uploads`)
    return rows[0]
  }

  it('of a saved source: the newest matching file as it would land, options tried without saving', async () => {
    const sourceId = await w.newSource('preview/', { endpoint: w.store.endpoint, config: { pattern: '*.csv' } })
    await putObject('preview/old.csv', Buffer.from('sku\nOLD\n'))
    await new Promise(resolve => setTimeout(resolve, 1100)) // S3 LastModified has one-second resolution
    await putObject('preview/stock.csv', semicolonCsv())
    await putObject('preview/ignored.json', Buffer.from('[]'))
    const before = await footprint()
    const path = `/api/v1/agents/${agentId}/data-sources/${sourceId}/preview`
    const plain = await w.t.api('POST', path, { body: {} })
    expect(plain.statusCode, plain.body).toBe(200)
    expect(plain.json()).toMatchObject({ file: { key: 'preview/stock.csv', format: 'csv', encoding: 'utf-8' }, rows: [], rejected: [{ row: 2 }, { row: 3 }] })
    const tried = await w.t.api('POST', path, { body: { parse: SEMICOLON_PARSE } })
    expect(tried.json()).toMatchObject({
      columns: ['sku', 'name', 'quantity', 'price'].map(h => ({ header: h, field: h })),
      rows: SEMICOLON_ITEMS,
      rejected: [],
      warnings: [],
    })
    expect((await w.t.api('POST', path, { body: { key: 'preview/old.csv' } })).json().rows).toMatchObject([{ sku: 'OLD' }])
    expect(await footprint()).toEqual(before)
    // nothing was saved either
    expect((await w.t.api('GET', `/api/v1/agents/${agentId}/data-sources/${sourceId}`)).json().config.parse).toBeUndefined()
  })

  it('of an unsaved config: sheets, the columns → fields, warnings; a wrong sheet shows NO_ROWS instead of failing', async () => {
    await putObject('unsaved/book.xlsx', await twoSheetWorkbook())
    const before = await footprint()
    const body = (parse: Record<string, unknown>) => ({
      type: 's3', role: 'INVENTORY_SOURCE', config: { ...s3Config('unsaved/'), parse },
    })
    const res = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources/preview`, { body: body({ sheet: 'Stock' }) })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({
      file: { key: 'unsaved/book.xlsx', format: 'xlsx', sheet: 'Stock' },
      sheets: ['Notes', 'Stock'],
      columns: [{ header: 'sku', field: 'sku' }, { header: 'quantity', field: 'quantity' }, { header: 'Description', field: null }],
      rows: [{ row: 2, sku: 'S1', quantity: 3, attributes: { Description: 'first' } }, { row: 3, sku: 'S2' }],
      warnings: [{ code: 'UNMAPPED_COLUMNS', columns: ['Description'] }],
    })
    const wrong = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources/preview`, { body: body({}) })
    expect(wrong.json()).toMatchObject({ file: { sheet: 'Notes' }, rows: [], error: { code: 'NO_ROWS', message: expect.stringContaining('"Stock"') } })
    const zip = await putObject('unsaved/drop.zip', twoCsvZip()).then(() => w.t.api('POST', `/api/v1/agents/${agentId}/data-sources/preview`, {
      body: { ...body({}), key: 'unsaved/drop.zip!south/south.csv' },
    }))
    expect(zip.json()).toMatchObject({ file: { key: 'unsaved/drop.zip!south/south.csv', format: 'csv' }, rows: [{ sku: 'S1' }] })
    expect(await footprint()).toEqual(before)
    const none = await w.t.api('POST', `/api/v1/agents/${agentId}/data-sources/preview`, {
      body: { type: 's3', role: 'INVENTORY_SOURCE', config: s3Config('nothing-here/') },
    })
    expect(none.statusCode).toBe(422)
    expect(none.json().code).toBe('NO_FILE_TO_PREVIEW')
  })
})
