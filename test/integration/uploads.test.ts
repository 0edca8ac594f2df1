import { gzipSync } from 'node:zlib'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROW_BATCH } from '../../src/formats/index.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { multipartFile } from '../helpers/multipart.js'

let t: TestApp
let agentId: string

beforeAll(async () => {
  t = await createTestApp({ env: { FERRY_MAX_JSON_DEPTH: '8' } })
  agentId = (await t.api('POST', '/api/v1/agents', { body: { name: 'uploads', mapping: { fieldMap: { sku: 'Item No' } } } })).json().id
})
afterAll(async () => { await t?.close() })

const upload = (content: Buffer | string, options: { fileName?: string, contentType?: string, key?: string, agent?: string } = {}) => {
  const { payload, headers } = multipartFile(content, options)
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/agents/${options.agent ?? agentId}/inventory/uploads`,
    payload,
    headers: { ...headers, authorization: `Bearer ${options.key ?? t.adminKey}` },
  })
}

const itemsOf = async (uploadId: string) => {
  const res = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${uploadId}/items?limit=1000`)
  expect(res.statusCode).toBe(200)
  return res.json().items
}

describe('inventory uploads', () => {
  it('lands a CSV: canonical fields by header, fieldMap override, other columns as attributes, bad rows rejected with row numbers', async () => {
    const csv = 'Item No;Product Name;Quantity;unit-price;Colour\nA-1;Widget;5;9.99;red\n;no sku;1;1;blue\nA-2;Gadget;lots;2;green\nA-3;Thing;;1e2;\n'
    const res = await upload(csv)
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    expect(body).toMatchObject({ status: 'ingested', format: 'csv', rowsAccepted: 2, rowsRejected: 2 })
    expect(body.rejectedRows).toEqual([
      { row: 3, reason: 'sku is missing' },
      { row: 4, reason: 'quantity "lots" is not a number' },
    ])
    const items = await itemsOf(body.id)
    expect(items).toEqual([
      {
        rowNumber: 2, sku: 'A-1', name: null, quantity: 5, price: null, currency: null, location: null,
        attributes: { 'Product Name': 'Widget', 'unit-price': '9.99', Colour: 'red' },
      },
      {
        rowNumber: 5, sku: 'A-3', name: null, quantity: null, price: null, currency: null, location: null,
        attributes: { 'Product Name': 'Thing', 'unit-price': '1e2', Colour: '' },
      },
    ])
    const again = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${body.id}`)
    expect(again.json().rejectedRows).toHaveLength(2)
  })

  it('stores text with the COPY format\'s special characters (backslash, tab, LF, CR, a literal \\N) as written, beside rows without any', async () => {
    const other = (await t.api('POST', '/api/v1/agents', { body: { name: 'copy-text' } })).json().id
    const csv = 'sku,name,location,note\n' +
      'plain-1,Nut,WH1,x\n' +
      '"b\\s","tab\there","two\nlines","cr\r\nlf \\N"\n' +
      'plain-2,,,\n' +
      '"\\N",name,"back\\slash\\",\n'
    const res = await upload(csv, { agent: other })
    expect(res.statusCode, res.body).toBe(201)
    const items = (await t.api('GET', `/api/v1/agents/${other}/inventory/uploads/${res.json().id}/items`)).json().items
    expect(items.map((i: Record<string, unknown>) => [i.sku, i.name, i.location, i.attributes])).toEqual([
      ['plain-1', 'Nut', 'WH1', { note: 'x' }],
      ['b\\s', 'tab\there', 'two\nlines', { note: 'cr\r\nlf \\N' }],
      ['plain-2', null, null, { note: '' }],
      ['\\N', 'name', 'back\\slash\\', { note: '' }],
    ])
  })

  it('matches canonical headers case-insensitively ignoring spaces, _ and -', async () => {
    const other = (await t.api('POST', '/api/v1/agents', { body: { name: 'plain' } })).json().id
    const res = await upload('S K U,NAME,Quan_tity,PRICE,cur-rency,Location\nx1,Nut,3,0.5,EUR,WH1\n', { agent: other })
    expect(res.statusCode, res.body).toBe(201)
    const items = (await t.api('GET', `/api/v1/agents/${other}/inventory/uploads/${res.json().id}/items`)).json().items
    expect(items[0]).toMatchObject({ sku: 'x1', name: 'Nut', quantity: 3, price: 0.5, currency: 'EUR', location: 'WH1', attributes: {} })
  })

  it('lands gzipped NDJSON detected by magic bytes, whatever the name says', async () => {
    const ndjson = '{"Item No":"n1","quantity":1}\n{"Item No":"n2","quantity":"2"}\nnot json\n'
    const res = await upload(gzipSync(ndjson), { fileName: 'feed.ndjson.gz' })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json()).toMatchObject({ format: 'ndjson', rowsAccepted: 2, rowsRejected: 1 })
    expect(res.json().rejectedRows[0].row).toBe(3)
  })

  it('lands an XLSX with typed numbers', async () => {
    const wb = new ExcelJS.Workbook()
    const ws = wb.addWorksheet('Stock')
    ws.addRow(['Item No', 'Quantity', 'Price'])
    ws.addRow(['x-1', 4, 2.5])
    ws.addRow(['x-2', 7, 1])
    const buf = Buffer.from(await wb.xlsx.writeBuffer())
    const res = await upload(buf, { fileName: 'stock.xlsx' })
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json()).toMatchObject({ format: 'xlsx', rowsAccepted: 2, rowsRejected: 0 })
    const items = await itemsOf(res.json().id)
    expect(items.map((i: { quantity: number }) => i.quantity)).toEqual([4, 7])
  })

  it('rows rejected at a batch boundary keep their row numbers; a file of exactly 2 × ROW_BATCH rows lands whole', async () => {
    // header on line 1: the first batch holds lines 2…ROW_BATCH + 1
    const boundary = ROW_BATCH + 1
    const lines = ['Item No,quantity']
    for (let line = 2; line <= 2 * ROW_BATCH + 1; line++) {
      lines.push(line === boundary ? ',1' : line === boundary + 1 ? 'B,1,extra' : line === 2 * ROW_BATCH + 1 ? `L${line},many` : `L${line},1`)
    }
    const res = await upload(lines.join('\n') + '\n')
    expect(res.statusCode, res.body).toBe(201)
    expect(res.json()).toMatchObject({ status: 'ingested', rowsAccepted: 2 * ROW_BATCH - 3, rowsRejected: 3 })
    expect(res.json().rejectedRows).toEqual([
      { row: boundary, reason: 'sku is missing' },
      { row: boundary + 1, reason: 'The row has 3 fields; the header has 2.' },
      { row: 2 * ROW_BATCH + 1, reason: 'quantity "many" is not a number' },
    ])
    const around = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${res.json().id}/items?limit=3&cursor=${boundary - 2}`)
    expect(around.json().items.map((i: { rowNumber: number, sku: string }) => [i.rowNumber, i.sku]))
      .toEqual([[boundary - 1, `L${boundary - 1}`], [boundary + 2, `L${boundary + 2}`], [boundary + 3, `L${boundary + 3}`]])

    const exact = await upload(Buffer.from(['Item No', ...Array.from({ length: 2 * ROW_BATCH }, (_, i) => `E${i}`)].join('\n') + '\n'))
    expect(exact.json()).toMatchObject({ status: 'ingested', rowsAccepted: 2 * ROW_BATCH, rowsRejected: 0 })
    const tail = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${exact.json().id}/items?limit=5&cursor=${2 * ROW_BATCH - 1}`)
    expect(tail.json().items.map((i: { rowNumber: number }) => i.rowNumber)).toEqual([2 * ROW_BATCH, 2 * ROW_BATCH + 1])
  })

  it('rejects a file that cannot be read at all with a clear code, keeps none of its rows, and records it', async () => {
    let deep = '1'
    for (let i = 0; i < 20; i++) deep = `{"a":${deep}}`
    const json = `[{"Item No":"ok-1"},${deep}]`
    const res = await upload(json, { fileName: 'deep.json' })
    expect(res.statusCode).toBe(422)
    expect(res.json().code).toBe('JSON_TOO_DEEP')
    const uploadId = res.json().details.uploadId
    const stored = (await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${uploadId}`)).json()
    expect(stored).toMatchObject({ status: 'rejected', rowsAccepted: 0, error: { code: 'JSON_TOO_DEEP' } })
    const { rows } = await t.database.db.query<{ n: number }>(
      'SELECT count(*) AS n FROM inventory_items i JOIN inventory_uploads u ON u.seq = i.upload_seq WHERE u.id = $1', [uploadId])
    expect(rows[0].n).toBe(0)
  })

  it('rejects an empty file', async () => {
    const res = await upload('', { fileName: 'empty.csv' })
    expect(res.statusCode).toBe(422)
    expect(res.json().code).toBe('EMPTY_FILE')
  })

  it('refuses requests that are not multipart and uploads to other organisations\' agents', async () => {
    const notMultipart = await t.api('POST', `/api/v1/agents/${agentId}/inventory/uploads`, { body: { file: 'x' } })
    expect(notMultipart.statusCode).toBe(415)
    const otherKey = await t.newOrg('intruder')
    const res = await upload('sku\n1\n', { key: otherKey })
    expect(res.statusCode).toBe(404)
    expect((await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads`, { key: otherKey })).statusCode).toBe(404)
  })

  it('lists uploads newest first and paginates items', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => `p-${i},${i}`).join('\n')
    const res = await upload(`Item No,quantity\n${rows}\n`)
    const id = res.json().id
    const list = (await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads?limit=2`)).json()
    expect(list.items[0].id).toBe(id)
    expect(list.nextCursor).toBeTruthy()
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const itemsPage = await t.api('GET', `/api/v1/agents/${agentId}/inventory/uploads/${id}/items?limit=100${cursor ? `&cursor=${cursor}` : ''}`)
      const p: { items: Array<{ sku: string }>, nextCursor: string | null } = itemsPage.json()
      seen.push(...p.items.map((i: { sku: string }) => i.sku))
      cursor = p.nextCursor
    } while (cursor)
    expect(seen).toHaveLength(250)
    expect(seen[249]).toBe('p-249')
  })
})
