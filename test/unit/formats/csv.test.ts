import { describe, it, expect } from 'vitest'
import { Readable } from 'node:stream'
import { ROW_BATCH, parsers, sniffDelimiter, type ParsedRow } from '../../../src/formats/index.js'
import { CsvReader } from '../../../src/formats/csv-reader.js'
import { LIMITS, chunked, parseBatches } from '../../fixtures/formats/corpus.js'

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

describe('csv: batches', () => {
  /** `sku,qty` then `rows` rows on lines 2…; `lines` replaces the row on that line */
  const csv = (rows: number, lines: Record<number, string> = {}): Buffer => {
    const out = ['sku,qty']
    for (let line = 2; line <= rows + 1; line++) out.push(lines[line] ?? `A${line},1`)
    return Buffer.from(out.join('\n') + '\n')
  }

  it('a file of exactly 2 × ROW_BATCH rows read in one chunk: full batches, every row once, line numbers continuing', async () => {
    const batches = await parseBatches('csv', csv(2 * ROW_BATCH))
    expect(batches.map(b => b.length)).toEqual([ROW_BATCH, ROW_BATCH])
    expect(batches.flat().map(r => r.row)).toEqual(Array.from({ length: 2 * ROW_BATCH }, (_, i) => i + 2))
  })

  it('ragged rows on both sides of a batch boundary keep their line numbers, whatever the chunking', async () => {
    const last = ROW_BATCH + 1 // the line of the last row of the first batch (the header is line 1)
    const bytes = csv(2 * ROW_BATCH + 1, { [last]: 'short', [last + 1]: 'A,1,extra', [2 * ROW_BATCH + 2]: 'end' })
    for (const chunkSize of [bytes.length, 7919, 3]) {
      const batches = await parseBatches('csv', bytes, chunkSize)
      for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(ROW_BATCH)
      const rows = batches.flat()
      expect(rows).toHaveLength(2 * ROW_BATCH + 1)
      expect(rows.filter(r => 'error' in r).map(r => r.row)).toEqual([last, last + 1, 2 * ROW_BATCH + 2])
      expect(rows.at(-2)).toEqual({ row: 2 * ROW_BATCH + 1, values: { sku: `A${2 * ROW_BATCH + 1}`, qty: '1' } })
    }
  })

  it('a quoted line break in the last row of a batch moves the next batch\'s line numbers', async () => {
    const last = ROW_BATCH + 1
    const batches = await parseBatches('csv', csv(ROW_BATCH + 1, { [last]: '"two\nlines",1' }))
    expect(batches.map(b => b.length)).toEqual([ROW_BATCH, 1])
    expect(batches[0].at(-1)).toEqual({ row: last, values: { sku: 'two\nlines', qty: '1' } })
    expect(batches[1][0]).toEqual({ row: last + 2, values: { sku: `A${last + 1}`, qty: '1' } })
  })
})

describe('csv: dialect', () => {
  it('mixed line endings (LF, CRLF, lone CR) each end one line', async () => {
    expect(await parse('sku,qty\nA1,1\r\nA2,2\rA3,3\n\r\nA4,4', 3)).toEqual([
      { row: 2, values: { sku: 'A1', qty: '1' } },
      { row: 3, values: { sku: 'A2', qty: '2' } },
      { row: 4, values: { sku: 'A3', qty: '3' } },
      { row: 6, values: { sku: 'A4', qty: '4' } },
    ])
  })

  it('text after a closing quote keeps the quotes as written; quotes inside unquoted text are characters', async () => {
    expect(await parse('sku,name\n"A1"x,5" screen\n""," ""q"" "\n', 1 << 20)).toEqual([
      { row: 2, values: { sku: '"A1"x', name: '5" screen' } },
      { row: 3, values: { sku: '', name: ' "q" ' } },
    ])
  })

  it('an unterminated quote fails the file naming the line it opens on', async () => {
    await expect(parse('sku,name\nA1,x\nA2,"open\nA3,y\n', 5)).rejects.toMatchObject({ code: 'PARSE_FAILED', details: { row: 3 } })
  })
})

describe('csv: the tokenizer at a chunk boundary', () => {
  // every place a chunk can end: inside an unquoted field just before a delimiter, CR or LF, inside a
  // CRLF, inside a quoted field, right after an opening or closing quote, between the two quotes of `""`,
  // inside a quoted CRLF, and after text that follows a closing quote
  const text = 'sku,name,qty\r\nA1,plain text,1\r\n"A2","quo""ted\r\nline",2\rA3,"x"y,3\n\r\n"",z,\n5" screen,"",4'
  const expected = [
    { line: 1, record: ['sku', 'name', 'qty'] },
    { line: 2, record: ['A1', 'plain text', '1'] },
    { line: 3, record: ['A2', 'quo"ted\r\nline', '2'] },
    { line: 5, record: ['A3', '"x"y', '3'] },
    { line: 7, record: ['', 'z', ''] },
    { line: 8, record: ['5" screen', '', '4'] },
  ]
  const read = (chunks: string[]): { got: Array<{ line: number, record: string[] }>, blank: number, lines: number } => {
    const reader = new CsvReader(',', 1 << 20)
    const got: Array<{ line: number, record: string[] }> = []
    const take = (): void => {
      const { records, lines } = reader.take()
      records.forEach((record, k) => got.push({ line: lines[k], record }))
    }
    for (const chunk of chunks) {
      reader.write(chunk)
      take()
    }
    reader.end()
    take()
    return { got, blank: reader.blankRecords, lines: reader.lineCount }
  }

  it('reads the same records, line numbers and blank lines wherever the input is cut in two', () => {
    for (let at = 0; at <= text.length; at++) {
      expect(read([text.slice(0, at), text.slice(at)]), `cut at ${at}`).toEqual({ got: expected, blank: 1, lines: 8 })
    }
  })

  it('and cut into single characters', () => {
    expect(read(text.split(''))).toEqual({ got: expected, blank: 1, lines: 8 })
  })

  it('an unquoted field ending exactly at a chunk end continues in the next chunk', () => {
    const got = [{ line: 1, record: ['sku', 'name'] }, { line: 2, record: ['A1', 'x'] }]
    expect(read(['sku,na', 'me\nA', '1,', 'x'])).toEqual({ got, blank: 0, lines: 2 })
  })
})

describe('csv: parse.headerRow past the end of the file', () => {
  const files: Array<[string, number]> = [['a\nb', 2], ['a\nb\n', 2], ['a\r\nb\r\n\r\n', 3], ['a', 1]]
  it.each(files)('%j counts %i line(s), a last line without a line break included', async (text, lines) => {
    const read = async (): Promise<void> => {
      for await (const batch of parsers.csv.parse(Readable.from([Buffer.from(text)]), { limits: LIMITS, headerRow: 5 })) expect(batch).toEqual([])
    }
    await expect(read()).rejects.toThrow(`the file has ${lines} line${lines === 1 ? '' : 's'}`)
  })
})
