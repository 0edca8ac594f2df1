import { describe, it, expect } from 'vitest'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import { PassThrough, Readable } from 'node:stream'
import zlib from 'node:zlib'
import ExcelJS from 'exceljs'
import { checkXmlProlog, listSheets } from '../../../src/formats/xlsx-guard.js'
import { ROW_BATCH, parsers } from '../../../src/formats/index.js'
import { LIMITS, collect, errorCode, parseBatches } from '../../fixtures/formats/corpus.js'
import { makeZip, patchZip, readZip } from '../../fixtures/formats/zip.js'

/** Builds an xlsx with exceljs' streaming WorkbookWriter (the same library family the reader uses). */
async function buildWorkbook (
  build: (workbook: ExcelJS.stream.xlsx.WorkbookWriter) => void | Promise<void>,
  options: Partial<ExcelJS.stream.xlsx.WorkbookStreamWriterOptions> = {},
): Promise<Buffer> {
  const sink = new PassThrough()
  const chunks: Buffer[] = []
  sink.on('data', (c: Buffer) => chunks.push(c))
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: sink, useSharedStrings: true, useStyles: true, ...options })
  await build(workbook)
  await workbook.commit()
  return Buffer.concat(chunks)
}

const xml = (body: string): string => `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${body}`

/** A tiny but complete workbook, by hand, for tests that need to control every part. */
const DEFAULT_SHEET_XML = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c></row>' +
  '<row r="2"><c r="A2" t="inlineStr"><is><t>A1</t></is></c></row></sheetData>'
function handMadeParts (sheetXml = DEFAULT_SHEET_XML): Record<string, string> {
  return {
    '[Content_Types].xml': xml('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
    'xl/workbook.xml': xml('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    'xl/_rels/workbook.xml.rels': xml('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
    'xl/worksheets/sheet1.xml': xml(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${sheetXml}</worksheet>`),
  }
}
const handMade = (
  parts: Record<string, string | Buffer> = handMadeParts(),
  extra: Array<{ name: string, data: Buffer, method?: 0 | 8, declaredSize?: number }> = [],
): Buffer =>
  makeZip([...Object.entries(parts).map(([name, data]) => ({ name, data: Buffer.from(data) })), ...extra])

async function tempEntries (): Promise<string[]> {
  return (await fs.readdir(os.tmpdir())).filter(name => name.startsWith('ferry-xlsx-'))
}

describe('xlsx: reading', () => {
  it('reads the first visible sheet, typed values, empty rows skipped with row numbers kept', async () => {
    const bytes = await buildWorkbook(workbook => {
      const lookup = workbook.addWorksheet('Lookup', { state: 'hidden' })
      lookup.addRow(['code', 'label']).commit()
      lookup.addRow(['X', 'not this sheet']).commit()
      lookup.commit()
      const items = workbook.addWorksheet('Items')
      items.addRow(['sku', 'name', 'qty', 'price', 'received', 'total', 'active', 'note', 'flag']).commit()
      items.addRow(['A1', 'Widget é ✓', 3, 2.5, new Date(Date.UTC(2024, 2, 1)), { formula: 'C2*D2', result: 7.5 }, true, null]).commit()
      items.addRow([]).commit()
      items.addRow(['', null, '']).commit()
      const row5 = items.addRow([
        'A2', { richText: [{ text: 'Rich ' }, { text: 'text' }] }, 4, 1, new Date(Date.UTC(2024, 2, 1, 8, 30)), { formula: 'E5+1', result: 45353 }, false,
        { formula: 'NA()', result: { error: '#N/A' } }, { error: '#REF!' },
      ])
      row5.getCell(6).numFmt = 'yyyy-mm-dd'
      row5.commit()
      items.commit()
      const other = workbook.addWorksheet('Other')
      other.addRow(['sku']).commit()
      other.addRow(['B1']).commit()
      other.commit()
    })
    const before = await tempEntries()
    const got = await collect(bytes, { fileName: 'stock.xlsx' })
    expect(got.format).toBe('xlsx')
    expect(got.records.map(r => r.row)).toEqual([2, 5])
    expect(got.problems).toEqual([])
    expect(got.records[0].values).toEqual({
      sku: 'A1', name: 'Widget é ✓', qty: 3, price: 2.5, received: '2024-03-01', total: 7.5, active: true, note: null, flag: null,
    })
    // an error cell reads as its text; a formula whose cached result is an error reads as null
    // (exceljs' streaming reader turns error results into NaN, so the text is not available)
    expect(got.records[1].values).toEqual({
      sku: 'A2', name: 'Rich text', qty: 4, price: 1, received: '2024-03-01T08:30:00.000Z', total: '2024-03-02', active: false, note: null, flag: '#REF!',
    })
    expect(await tempEntries()).toEqual(before) // the spooled copy is gone
  })

  it('reads the sheet the agent names, and lists the sheets when the name is wrong', async () => {
    const bytes = await buildWorkbook(workbook => {
      for (const name of ['First', 'Second sheet']) {
        const sheet = workbook.addWorksheet(name)
        sheet.addRow(['sku']).commit()
        sheet.addRow([`${name}-1`]).commit()
        sheet.addRow([`${name}-2`]).commit()
        sheet.commit()
      }
    })
    expect((await collect(bytes, { fileName: 'x.xlsx' })).records.map(r => r.values.sku)).toEqual(['First-1', 'First-2'])
    const second = await collect(bytes, { fileName: 'x.xlsx', parse: { sheet: 'second SHEET' } })
    expect(second.records.map(r => r.values.sku)).toEqual(['Second sheet-1', 'Second sheet-2'])
    await expect(collect(bytes, { fileName: 'x.xlsx', parse: { sheet: 'Missing' } }))
      .rejects.toMatchObject({ code: 'PARSE_FAILED', message: expect.stringContaining('"First", "Second sheet"') })
  })

  it('detects the header as the first non-empty row; values without a header become column_<letter>', async () => {
    const bytes = await buildWorkbook(workbook => {
      const sheet = workbook.addWorksheet('S')
      sheet.addRow(['Inventory export']).commit() // a title row is the first non-empty row: it is the header
      sheet.commit()
    })
    const got = await collect(bytes, { fileName: 'x.xlsx' })
    expect(got.records).toHaveLength(0)

    const bytes2 = await buildWorkbook(workbook => {
      const sheet = workbook.addWorksheet('S')
      sheet.getRow(3).values = ['Item No', '', 'Qty']
      sheet.getRow(3).commit()
      sheet.getRow(4).values = ['A1', 'x', 2, null, 'stray note']
      sheet.getRow(4).commit()
      sheet.commit()
    })
    const got2 = await collect(bytes2, { fileName: 'x.xlsx' })
    expect(got2.records).toEqual([{ row: 4, values: { 'Item No': 'A1', column_B: 'x', Qty: 2, column_E: 'stray note' } }])
    expect(got2.warnings).toHaveLength(1)
  })

  it('keeps multi-byte characters intact across chunk boundaries (exceljs decodes chunk by chunk)', async () => {
    const names: string[] = []
    for (let i = 0; i < 6000; i++) names.push(`Ünïcødé ✓ 日本語 😀 ${i}`)
    const bytes = await buildWorkbook(workbook => {
      const sheet = workbook.addWorksheet('S')
      sheet.addRow(['sku', 'name']).commit()
      names.forEach((name, i) => sheet.addRow([`S${i}`, name]).commit())
      sheet.commit()
    })
    const got = await collect(bytes, { fileName: 'x.xlsx' })
    expect(got.records).toHaveLength(names.length)
    expect(got.records.map(r => r.values.name)).toEqual(names)
  })

  it('reads a gzipped xlsx (by magic bytes) and an xlsx named .csv', async () => {
    const bytes = await buildWorkbook(workbook => {
      const sheet = workbook.addWorksheet('S')
      sheet.addRow(['sku']).commit()
      sheet.addRow(['A1']).commit()
      sheet.commit()
    })
    const gz = await collect(zlib.gzipSync(bytes), { fileName: 'export' })
    expect([gz.format, gz.compressed, gz.records.length]).toEqual(['xlsx', true, 1])
    const misnamed = await collect(bytes, { fileName: 'export.csv', contentType: 'text/csv' })
    expect([misnamed.format, misnamed.records.length]).toEqual(['xlsx', 1])
  })

  it('applies row, column and cell limits', async () => {
    const bytes = await buildWorkbook(workbook => {
      const sheet = workbook.addWorksheet('S')
      sheet.addRow(['a', 'b', 'c', 'd']).commit()
      sheet.addRow(['1', '2', '3', 'x'.repeat(50)]).commit()
      sheet.addRow(['1', '2', '3', '4']).commit()
      sheet.commit()
    })
    expect(await errorCode(collect(bytes, { fileName: 'x.xlsx', limits: { maxRows: 1 } }))).toBe('TOO_MANY_ROWS')
    expect(await errorCode(collect(bytes, { fileName: 'x.xlsx', limits: { maxColumns: 3 } }))).toBe('TOO_MANY_COLUMNS')
    expect(await errorCode(collect(bytes, { fileName: 'x.xlsx', limits: { maxCellChars: 10 } }))).toBe('CELL_TOO_LONG')
  })

  it('an empty first sheet is NO_ROWS naming it; a sheet with inline strings and no shared strings part is read', async () => {
    const empty = await buildWorkbook(workbook => { workbook.addWorksheet('S').commit() })
    await expect(collect(empty, { fileName: 'x.xlsx' })).rejects.toMatchObject({ code: 'NO_ROWS', message: expect.stringContaining('"S"') })
    const got = await collect(handMade(), { fileName: 'x.xlsx' })
    expect(got.records).toEqual([{ row: 2, values: { sku: 'A1' } }])
  })

  it('reads a sheet whose part name exceljs would not recognise', async () => {
    const parts = handMadeParts()
    const sheet = parts['xl/worksheets/sheet1.xml']
    delete parts['xl/worksheets/sheet1.xml']
    parts['xl/worksheets/Data Sheet.xml'] = sheet
    parts['xl/_rels/workbook.xml.rels'] = parts['xl/_rels/workbook.xml.rels'].replace('worksheets/sheet1.xml', '/xl/worksheets/Data Sheet.xml')
    const got = await collect(handMade(parts), { fileName: 'x.xlsx' })
    expect(got.records).toEqual([{ row: 2, values: { sku: 'A1' } }])
  })

  it('yields batches of at most ROW_BATCH rows, sheet row numbers kept across them', async () => {
    const wb = new ExcelJS.Workbook()
    const ws = wb.addWorksheet('Stock')
    ws.getCell('A1').value = 'sku'
    // sheet rows 2…2 × ROW_BATCH + 1, but row ROW_BATCH + 2 (the first of the second batch) is left empty: skipped, its number not reused
    for (let r = 2; r <= 2 * ROW_BATCH + 1; r++) if (r !== ROW_BATCH + 2) ws.getCell(`A${r}`).value = `A${r}`
    const batches = await parseBatches('xlsx', Buffer.from(await wb.xlsx.writeBuffer()))
    expect(batches.length).toBeGreaterThan(1)
    for (const batch of batches) expect(batch.length).toBeGreaterThan(0)
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(ROW_BATCH)
    const rows = batches.flat().map(r => r.row)
    expect(rows).toHaveLength(2 * ROW_BATCH - 1)
    expect(rows.slice(ROW_BATCH - 2, ROW_BATCH + 1)).toEqual([ROW_BATCH, ROW_BATCH + 1, ROW_BATCH + 3])
    expect(rows.at(-1)).toBe(2 * ROW_BATCH + 1)
  })

  it('parser used directly on a byte stream', async () => {
    const rows = []
    for await (const batch of parsers.xlsx.parse(Readable.from([handMade()]), { limits: LIMITS })) rows.push(...batch)
    expect(rows).toEqual([{ row: 2, values: { sku: 'A1' } }])
  })
})

describe('xlsx: the guard refuses unsafe archives before inflating them', () => {
  it('zip bomb: one entry compressed far beyond the ratio limit', async () => {
    const bomb = handMade(handMadeParts(), [{ name: 'xl/media/padding.xml', data: Buffer.alloc(50 * 1024 * 1024, 0x20) }])
    expect(bomb.length).toBeLessThan(200 * 1024)
    await expect(collect(bomb, { fileName: 'bomb.xlsx' })).rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'compression_ratio' } })
  })

  it('zip bomb: total declared size over the limit', async () => {
    const big = handMade(handMadeParts(), [{ name: 'xl/media/image1.bin', data: Buffer.alloc(3 * 1024 * 1024, 1) }])
    await expect(collect(big, { fileName: 'big.xlsx', limits: { xlsxMaxUncompressedBytes: 2 * 1024 * 1024 } }))
      .rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'uncompressed_size' } })
  })

  it('zip bomb with lying headers: the sheet declares 300 bytes and inflates to megabytes', async () => {
    const parts = handMadeParts()
    const sheet = parts['xl/worksheets/sheet1.xml']
    delete parts['xl/worksheets/sheet1.xml']
    const huge = Buffer.from(sheet.replace('</sheetData>', `${'<row/>'.repeat(1_000_000)}</sheetData>`))
    const liar = handMade(parts, [{ name: 'xl/worksheets/sheet1.xml', data: huge, declaredSize: 300 }])
    await expect(collect(liar, { fileName: 'liar.xlsx' })).rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'size_mismatch' } })
  })

  it('a zip with 10 000 entries', async () => {
    const entries = Array.from({ length: 10_000 }, (_, i) => ({ name: `xl/media/f${i}.txt`, data: Buffer.from('x'), method: 0 as const }))
    await expect(collect(handMade(handMadeParts(), entries), { fileName: 'many.xlsx' }))
      .rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'entries' } })
  })

  it('entry names with ../, absolute paths or backslashes', async () => {
    for (const name of ['../../etc/passwd', 'xl/../../evil.xml', '/etc/cron.d/x', 'C:/x.xml', 'xl\\..\\evil.xml']) {
      const zip = handMade(handMadeParts(), [{ name, data: Buffer.from('x') }])
      await expect(collect(zip, { fileName: 'x.xlsx' }), name).rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'path' } })
    }
  })

  it('a DOCTYPE / ENTITY declaration in any XML part', async () => {
    const billionLaughs = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n<workbook>&lol2;</workbook>'
    const real = await buildWorkbook(workbook => {
      const sheet = workbook.addWorksheet('S')
      sheet.addRow(['sku']).commit()
      sheet.addRow(['A1']).commit()
      sheet.commit()
    })
    expect((await readZip(real)).map(e => e.name)).toContain('xl/sharedStrings.xml')
    for (const part of ['xl/workbook.xml', 'xl/sharedStrings.xml', 'docProps/core.xml', 'xl/worksheets/sheet1.xml']) {
      const patched = await patchZip(real, { [part]: billionLaughs })
      await expect(collect(patched, { fileName: 'x.xlsx' }), part).rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'doctype' } })
    }
    // hidden after a long comment, or in lower case: still found
    const sneaky = await patchZip(real, { 'xl/styles.xml': `<?xml version="1.0"?><!-- ${'x'.repeat(1000)} --><!doctype x [<!entity a "b">]><styleSheet/>` })
    await expect(collect(sneaky, { fileName: 'x.xlsx' })).rejects.toMatchObject({ code: 'XLSX_UNSAFE' })
  })

  it('XML parts in another encoding than UTF-8 (the UTF-7 / UTF-16 bypasses)', async () => {
    const real = handMadeParts()
    const utf7 = handMade({ ...real, 'xl/workbook.xml': real['xl/workbook.xml'].replace('encoding="UTF-8"', 'encoding="UTF-7"') })
    await expect(collect(utf7, { fileName: 'x.xlsx' })).rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'xml_encoding' } })
    const utf16 = handMade({ ...real, 'xl/workbook.xml': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(real['xl/workbook.xml'], 'utf16le')]) })
    await expect(collect(utf16, { fileName: 'x.xlsx' })).rejects.toMatchObject({ code: 'XLSX_UNSAFE', details: { check: 'xml_encoding' } })
  })

  it('a zip that is not a workbook, and a broken zip', async () => {
    expect(await errorCode(collect(makeZip([{ name: 'readme.txt', data: Buffer.from('hi') }]), { fileName: 'x.zip' }))).toBe('UNSUPPORTED_FORMAT')
    const real = handMade()
    expect(await errorCode(collect(real.subarray(0, real.length - 30), { fileName: 'x.xlsx' }))).toBe('PARSE_FAILED')
  })

  it('leaves no temp file behind when it refuses a file', async () => {
    const before = await tempEntries()
    await errorCode(collect(handMade(handMadeParts(), [{ name: '../x', data: Buffer.from('x') }]), { fileName: 'x.xlsx' }))
    // other processes' temp folders may come and go meanwhile (the system temp folder is shared): none of this one's is new
    expect((await tempEntries()).filter(entry => !before.includes(entry))).toEqual([])
  })
})

describe('xlsx: guard helpers', () => {
  it('checkXmlProlog', () => {
    const ok = (s: string): void => { checkXmlProlog(Buffer.from(s), true, 'p') }
    ok('<?xml version="1.0" encoding="utf-8"?><root/>')
    ok('\uFEFF<root/>')
    ok('<!-- c --><?pi x?>\n<root><!DOCTYPE-looking text is not here/></root>'.replace('<!DOCTYPE', 'DOCTYPE'))
    expect(() => { ok('<?xml version="1.0"?><!DOCTYPE r><r/>') }).toThrow(/DOCTYPE/)
    expect(() => { ok('<?xml version="1.0" encoding="ISO-8859-1"?><r/>') }).toThrow(/encoding/)
    expect(() => { checkXmlProlog(Buffer.from(`<!-- ${'x'.repeat(70_000)}`).subarray(0, 65_536), false, 'p') }).toThrow(/prolog/)
  })

  it('listSheets follows the relationships and keeps tab order', () => {
    const workbook = '<workbook xmlns:r="r"><sheets><sheet name="B &amp; C" sheetId="2" r:id="rId7"/>' +
      '<sheet name="Chart" sheetId="3" r:id="rId8"/><sheet name="A" sheetId="1" r:id="rId1" state="hidden"/></sheets></workbook>'
    const rels = '<Relationships><Relationship Id="rId1" Type="http://x/relationships/worksheet" Target="worksheets/sheet1.xml"/>' +
      '<Relationship Id="rId7" Type="http://x/relationships/worksheet" Target="/xl/worksheets/sheet7.xml"/>' +
      '<Relationship Id="rId8" Type="http://x/relationships/chartsheet" Target="chartsheets/sheet1.xml"/></Relationships>'
    expect(listSheets(workbook, rels)).toEqual([
      { name: 'B & C', path: 'xl/worksheets/sheet7.xml', hidden: false },
      { name: 'A', path: 'xl/worksheets/sheet1.xml', hidden: true },
    ])
  })
})
