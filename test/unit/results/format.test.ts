import { Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import { compileProjection, DEFAULT_OUTPUT, outputOf } from '../../../src/mapping/projection.js'
import { csvField, csvLine, escapeFormula, jsonObject, renderResults } from '../../../src/results/format.js'

async function * rows (values: unknown[][]) { for (const v of values) yield v }
const text = async (s: Readable) => { let out = ''; for await (const c of s) out += c.toString(); return out }

describe('result formats', () => {
  it('escapes formula-leading text, never numbers (OWASP CSV injection)', () => {
    expect(escapeFormula('=HYPERLINK("x")')).toBe('\'=HYPERLINK("x")')
    for (const s of ['+1', '-1', '@SUM(A1)', '\t=1', '\r=1']) expect(csvField(s).replace(/^"/, '')).toMatch(/^'/)
    expect(csvField(-5)).toBe('-5')
    expect(csvField(1e21)).toBe('1e+21')
    expect(csvField('a=b')).toBe('a=b')
    expect(csvField(' =x')).toBe(' =x')
  })

  it('quotes per RFC 4180 and writes empty for null', () => {
    expect(csvLine(['a,b', 'say "hi"', 'two\nlines', null, undefined, true, { k: 1 }])).toBe('"a,b","say ""hi""","two\nlines",,,true,"{""k"":1}"\r\n')
    expect(csvField(Number.NaN)).toBe('')
  })

  it('keeps the column order in JSON objects, integer-like names included', () => {
    expect(jsonObject(['b', '2', 'a'], ['x', 1, undefined])).toBe('{"b":"x","2":1,"a":null}')
  })

  it('renders an empty result as a header (csv), [] (json), nothing (ndjson)', async () => {
    expect(await text(renderResults('csv', ['a', 'b'], rows([])))).toBe('a,b\r\n')
    expect(JSON.parse(await text(renderResults('json', ['a'], rows([]))))).toEqual([])
    expect(await text(renderResults('ndjson', ['a'], rows([])))).toBe('')
  })

  it('writes typed xlsx cells; text that looks like a formula stays text', async () => {
    const chunks: Buffer[] = []
    for await (const c of renderResults('xlsx', ['sku', 'qty'], rows([['=1+1', 3], ['b', null]]))) chunks.push(c as Buffer)
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(Buffer.concat(chunks) as unknown as ArrayBuffer)
    const cell = book.worksheets[0].getCell('A2')
    expect(cell.type).toBe(ExcelJS.ValueType.String)
    expect(cell.value).toBe('=1+1')
    expect(book.worksheets[0].getCell('B2').value).toBe(3)
  })

  it('passes a failure of the row source on as a stream error', async () => {
    async function * broken () { yield ['a']; throw new Error('database went away') }
    await expect(text(renderResults('csv', ['a'], broken()))).rejects.toThrow('database went away')
  })
})

describe('projection', () => {
  const item = {
    sku: 'A-1', name: ' Widget ', quantity: 5, price: null, currency: 'eur', location: null,
    attributes: { 'size.cm': '12,5', n: '42', obj: { x: 1 }, empty: '' },
  }

  it('defaults to the canonical fields', () => {
    expect(outputOf({ output: [] })).toBe(DEFAULT_OUTPUT)
    const p = compileProjection(DEFAULT_OUTPUT)
    expect(p.columns).toEqual(['sku', 'name', 'quantity', 'price', 'currency', 'location'])
    expect(p.project(item)).toEqual(['A-1', ' Widget ', 5, null, 'eur', null])
  })

  it('reads attributes by name (dots included) and applies transforms', () => {
    const p = compileProjection([
      { column: 'a', from: 'attributes.size.cm', transform: 'number' },
      { column: 'b', from: 'attributes.n', transform: 'number' },
      { column: 'c', from: 'currency', transform: 'upper' },
      { column: 'd', from: 'name', transform: 'trim' },
      { column: 'e', from: 'quantity', transform: 'string' },
      { column: 'f', from: 'attributes.obj', transform: 'string' },
      { column: 'g', from: 'attributes.missing', transform: 'lower' },
      { column: 'h', from: 'attributes.constructor' },
    ])
    expect(p.project(item)).toEqual([null, 42, 'EUR', 'Widget', '5', '{"x":1}', null, null])
  })

  it('refuses unknown sources and repeated columns, naming the entry', () => {
    expect(() => compileProjection([{ column: 'x', from: 'colour' }])).toThrow(AppError)
    expect(() => compileProjection([{ column: 'x', from: 'attributes.' }])).toThrow(/mapping.output\[0\].from/)
    expect(() => compileProjection([{ column: 'x', from: 'sku' }, { column: 'x', from: 'name' }])).toThrow(/mapping.output\[1\].column/)
  })
})
