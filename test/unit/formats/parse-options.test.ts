import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { checkParseSettings } from '../../../src/formats/parse-options.js'
import { openZip } from '../../../src/formats/zip.js'
import { spoolToTempFile } from '../../../src/formats/xlsx-guard.js'
import { CanonicalMapper } from '../../../src/pipeline/canonical.js'
import { MappedFile, isRejection, type Outcome } from '../../../src/pipeline/reader.js'
import { LIMITS, collect, errorCode } from '../../fixtures/formats/corpus.js'
import { SEMICOLON_PARSE, noSkuCsv, semicolonCsv, stockParquet, titledCsv, twoSheetWorkbook } from '../../fixtures/formats/imports.js'
import { makeZip } from '../../fixtures/formats/zip.js'

async function readAll (bytes: Buffer, fileName: string, options: Partial<Parameters<typeof MappedFile.open>[0]> = {}) {
  const file = await MappedFile.open({ stream: Readable.from([bytes]), fileName, fieldMap: {}, limits: LIMITS, ...options })
  const outcomes: Outcome[] = []
  for await (const batch of file.outcomes()) outcomes.push(...batch)
  const warnings = file.finish()
  return { file, outcomes, warnings, items: outcomes.filter(o => !isRejection(o)) }
}

describe('parse options', () => {
  it('are checked: a known encoding label (named by its WHATWG name), separators that differ, nulls dropped', () => {
    expect(checkParseSettings({ encoding: 'latin1', sheet: null, headerRow: 3 }, 'config.parse')).toEqual({ encoding: 'windows-1252', headerRow: 3 })
    expect(checkParseSettings({ sheet: null }, 'config.parse')).toBeUndefined()
    expect(() => checkParseSettings({ encoding: 'klingon' }, 'config.parse')).toThrow(/config\.parse\.encoding/)
    expect(() => checkParseSettings({ decimalSeparator: ',', thousandsSeparator: ',' }, 'p')).toThrow(/must differ/)
  })

  it('; with decimal comma and thousands dot lands as numbers; without the options every price is rejected', async () => {
    const got = await readAll(semicolonCsv(), 'stock.csv', { parse: SEMICOLON_PARSE })
    expect(got.items.map(i => 'sku' in i && [i.sku, i.quantity, i.price])).toEqual([['A1', 1234, 2.5], ['A2', 7, 1234.5]])
    const plain = await readAll(semicolonCsv(), 'stock.csv')
    expect(plain.items).toHaveLength(0)
    expect(plain.outcomes.map(o => isRejection(o) && o.reason)).toEqual(['price "2,50" is not a number', 'price "1.234,50" is not a number'])
  })

  it('number formats: groups of three only; with a decimal comma a lone "." is ambiguous and refused', () => {
    const mapper = new CanonicalMapper({ fieldMap: {} }, { decimalSeparator: ',', thousandsSeparator: ' ' })
    const price = (p: string) => { const m = mapper.map(1, { sku: 'a', price: p }); return typeof m === 'string' ? m : m.price }
    expect([price('1 234,5'), price('1\u00a0234'), price('-3,25'), price('12')]).toEqual([1234.5, 1234, -3.25, 12])
    expect(price('12 34')).toMatch(/not a number \(parse: decimal ",", thousands " "\)/)
    expect(price('1.5')).toMatch(/not a number/)
  })

  it('headerRow skips the title lines (also for sniffing the delimiter); a header row past the end is NO_ROWS', async () => {
    const got = await readAll(titledCsv(), 't.csv', { parse: { headerRow: 3 } })
    expect(got.items.map(i => 'sku' in i && [i.row, i.sku, i.quantity])).toEqual([[4, 'B1', 5], [5, 'B2', 6]])
    expect(got.file.layout).toMatchObject({ headerRow: 3, headers: ['sku', 'quantity'] })
    const semicolons = await readAll(Buffer.from('Report;\n\nsku;quantity\nC1;2\n'), 's.csv', { parse: { headerRow: 3 } })
    expect(semicolons.items).toHaveLength(1)
    await expect(readAll(titledCsv(), 't.csv', { parse: { headerRow: 9 } }))
      .rejects.toMatchObject({ code: 'NO_ROWS', message: expect.stringContaining('line 9') })
  })

  it('a quote character can be switched off', async () => {
    const got = await collect(Buffer.from('sku,name\nA1,5" screen "big"\n'), { fileName: 'q.csv', parse: { quote: '' } })
    expect(got.records[0].values).toEqual({ sku: 'A1', name: '5" screen "big"' })
  })

  it('encoding: any WHATWG label decodes the file; a fallback to windows-1252 is an ENCODING_FALLBACK warning', async () => {
    const latin2 = Buffer.from([...Buffer.from('sku,name\nA1,'), 0xb3, 0xf3, 0x64, 0xea, 0x0a]) // "łódę" in ISO-8859-2
    const got = await readAll(latin2, 'pl.csv', { parse: { encoding: 'iso-8859-2' } })
    expect(got.items[0]).toMatchObject({ name: 'łódę' })
    expect(got.file.opened.encoding).toBe('iso-8859-2')
    const utf16 = Buffer.from('sku,name\nA1,Zoë\n', 'utf16le') // no BOM: NUL bytes, read as text because the encoding is given
    expect((await readAll(utf16, 'u.csv', { parse: { encoding: 'utf-16le' } })).items[0]).toMatchObject({ name: 'Zoë' })
    const fallback = await readAll(Buffer.from([...Buffer.from('sku,name\nA1,caf'), 0xe9, 0x0a]), 'f.csv')
    expect(fallback.warnings.map(w => w.code)).toEqual(['ENCODING_FALLBACK'])
  })

  it('sheet by name or index; the default first sheet (notes) is NO_ROWS naming the sheet that has the data', async () => {
    const book = await twoSheetWorkbook()
    const byName = await readAll(book, 'b.xlsx', { parse: { sheet: 'Stock' } })
    expect(byName.items.map(i => 'sku' in i && i.sku)).toEqual(['S1', 'S2'])
    expect(byName.file.layout).toMatchObject({ sheet: 'Stock', sheets: ['Notes', 'Stock'] })
    expect((await readAll(book, 'b.xlsx', { parse: { sheet: 2 } })).items).toHaveLength(2)
    await expect(readAll(book, 'b.xlsx')).rejects.toMatchObject({ code: 'NO_ROWS', message: expect.stringMatching(/sheet "Notes".*"Stock"/) })
    const all = await readAll(book, 'b.xlsx', { parse: { sheet: '*' } })
    expect(all.items.map(i => 'sku' in i && i.sku)).toEqual(['S1', 'S2'])
  })

  it('no column maps to sku: NO_SKU_COLUMN listing the headers; a field map fixes it; unmapped columns are a warning', async () => {
    await expect(readAll(noSkuCsv(), 'n.csv')).rejects.toMatchObject({ code: 'NO_SKU_COLUMN', message: expect.stringContaining('"Artikel", "Bestand"') })
    await expect(readAll(Buffer.from('[{"Artikel":"X"}]'), 'n.json')).rejects.toMatchObject({ code: 'NO_SKU_COLUMN' })
    const mapped = await readAll(noSkuCsv(), 'n.csv', { fieldMap: { sku: 'Artikel', quantity: 'Bestand' } })
    expect(mapped.items).toHaveLength(2)
    const unmapped = await readAll(Buffer.from('sku,Stock,Description\nA,1,x\n'), 'u.csv')
    expect(unmapped.warnings).toEqual([expect.objectContaining({ code: 'UNMAPPED_COLUMNS', columns: ['Stock', 'Description'] })])
  })

  it('a header-only file is NO_ROWS naming the header line', async () => {
    await expect(readAll(Buffer.from('sku,quantity\n'), 'h.csv'))
      .rejects.toMatchObject({ code: 'NO_ROWS', message: expect.stringContaining('line 1: "sku", "quantity"') })
  })
})

describe('parquet', () => {
  it('reads row group by row group with types mapped to the canonical fields', async () => {
    const got = await readAll(stockParquet(), 'stock.parquet')
    expect(got.file.format).toBe('parquet')
    expect(got.items).toEqual([
      { row: 1, sku: 'P1', name: null, quantity: 10, price: 1.5, currency: null, location: null, attributes: { updated: '2026-11-30T08:00:00.000Z' } },
      { row: 2, sku: 'P2', name: null, quantity: 20, price: 2.25, currency: null, location: null, attributes: { updated: '2026-11-30T09:00:00.000Z' } },
      { row: 3, sku: 'P3', name: null, quantity: 30, price: 3, currency: null, location: null, attributes: { updated: '2026-11-30T10:00:00.000Z' } },
    ])
    // detected by magic bytes without a name
    expect((await collect(stockParquet(), { fileName: 'stock' })).format).toBe('parquet')
  })

  it('a truncated or lying footer is PARSE_FAILED, not a crash', async () => {
    const file = stockParquet()
    expect(await errorCode(collect(file.subarray(0, file.length - 20), { fileName: 'x.parquet' }))).toBe('PARSE_FAILED')
    const lying = Buffer.from(file)
    lying.writeUInt32LE(0x7fffffff, lying.length - 8)
    expect(await errorCode(collect(lying, { fileName: 'x.parquet' }))).toBe('PARSE_FAILED')
  })
})

describe('zip archives', () => {
  const open = async (zip: Buffer) => {
    const spooled = await spoolToTempFile(Readable.from([zip]), LIMITS.maxFileBytes, 'zip')
    try {
      return await openZip(spooled.path, spooled.bytes, LIMITS)
    } finally {
      await spooled.remove()
    }
  }

  it('lists members with what is read and what is skipped', async () => {
    const zip = await open(makeZip([
      { name: 'a.csv', data: Buffer.from('sku\nA\n') },
      { name: '__MACOSX/._a.csv', data: Buffer.from('x') },
      { name: 'inner.zip', data: Buffer.from('PK') },
      { name: 'notes.docx', data: Buffer.from('x') },
      { name: 'b.parquet', data: Buffer.from('x') },
    ]))
    zip.close()
    expect(zip.members.map(m => [m.name, m.skip ?? 'read'])).toEqual([
      ['a.csv', 'read'], ['__MACOSX/._a.csv', 'hidden or system file'], ['inner.zip', 'an archive inside the archive (not read)'],
      ['notes.docx', 'unsupported file type ".docx"'], ['b.parquet', 'read'],
    ])
  })

  it('the XLSX guards apply: ../ names, too many entries, ratio — as ZIP_UNSAFE', async () => {
    await expect(open(makeZip([{ name: '../evil.csv', data: Buffer.from('sku\n') }])))
      .rejects.toMatchObject({ code: 'ZIP_UNSAFE', message: expect.stringContaining('zip archive') })
    await expect(spoolToTempFile(Readable.from([makeZip(Array.from({ length: 5 }, (_, i) => ({ name: `${i}.csv`, data: Buffer.from('sku\n') })))]), 1e9, 'zip')
      .then(async s => { try { return await openZip(s.path, s.bytes, { ...LIMITS, xlsxMaxEntries: 3 }) } finally { await s.remove() } }))
      .rejects.toMatchObject({ code: 'ZIP_UNSAFE' })
    await expect(open(makeZip([{ name: 'bomb.csv', data: Buffer.alloc(50 * 1024 * 1024, 0x61) }]))).rejects.toMatchObject({ code: 'ZIP_UNSAFE' })
  })

  it('a member that inflates past its declared size fails as ZIP_UNSAFE while it is read', async () => {
    const zip = await open(makeZip([{ name: 'liar.csv', data: Buffer.from('sku\n' + 'A\n'.repeat(5000)), declaredSize: 10 }]))
    try {
      const stream = await zip.open(zip.members[0])
      await expect((async () => { for await (const chunk of stream) expect(chunk).toBeDefined() })()).rejects.toMatchObject({ code: 'ZIP_UNSAFE' })
    } finally {
      zip.close()
    }
  })
})
