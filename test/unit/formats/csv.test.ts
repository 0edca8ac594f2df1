import { describe, it, expect } from 'vitest'
import { Readable } from 'node:stream'
import { parsers, sniffDelimiter, type ParsedRow } from '../../../src/formats/index.js'
import { LIMITS, chunked } from '../../fixtures/formats/corpus.js'

async function parse (text: string, chunkSize: number): Promise<ParsedRow[]> {
  const rows: ParsedRow[] = []
  for await (const batch of parsers.csv.parse(Readable.from(chunked(Buffer.from(text), chunkSize)), { limits: LIMITS })) rows.push(...batch)
  return rows
}

describe('csv: delimiter sniffing', () => {
  it.each([
    ['sku,name,qty\nA1,x,1\n', ','],
    ['sku;name;price\nA1;"a, b";3,50\nA2;c;1,25\n', ';'],
    ['sku\tname\nA1\tx, y\n', '\t'],
    ['sku|name|qty\nA1|a;b|2\n', '|'],
    ['"sku;code",name\n"A;1",x\n', ','], // the ; are inside quotes
    ['"multi\nline;header",b\n1,2\n', ','],
    ['sku\nA1\n', ','], // one column: the default
    ['sku;name\n', ';'], // header only
    ['\uFEFFsku;qty\nA;1\n', ';'],
  ])('%j → %j', (text, delimiter) => {
    expect(sniffDelimiter(text)).toBe(delimiter)
  })

  it('prefers the delimiter that splits every record the same way', () => {
    // commas vary per row (free text), semicolons are constant
    expect(sniffDelimiter('a;b;c\nx, y, z;1;2\nw;3;4\n')).toBe(';')
  })
})

describe('csv: streaming', () => {
  it('gives the same rows and line numbers whatever the chunking', async () => {
    const text = '\uFEFFsku,desc,qty\r\nA1,"two\r\nlines, ""quoted""",3\r\n\r\nA2,Ünï ✓,4\r\nA3,short\r\n'
    const expected = [
      { row: 2, values: { sku: 'A1', desc: 'two\r\nlines, "quoted"', qty: '3' } },
      { row: 5, values: { sku: 'A2', desc: 'Ünï ✓', qty: '4' } },
      { row: 6, error: 'The row has 2 fields; the header has 3.' },
    ]
    expect(await parse(text, 1)).toEqual(expected)
    expect(await parse(text, 13)).toEqual(expected)
    expect(await parse(text, 1 << 20)).toEqual(expected)
  })
})
