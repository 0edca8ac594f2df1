import { describe, it, expect, beforeAll } from 'vitest'
import { PassThrough } from 'node:stream'
import ExcelJS from 'exceljs'
import fc from 'fast-check'
import { isAppError } from '../../../src/errors.js'
import { CsvReader } from '../../../src/formats/csv-reader.js'
import type { FileFormat } from '../../../src/formats/index.js'
import { LIMITS, collect, type Collected } from '../../fixtures/formats/corpus.js'
import { makeZip } from '../../fixtures/formats/zip.js'

/**
 * Property tests of the parsers: whatever bytes arrive, a file gives rows (and row problems) or one clear
 * file-level error (an AppError the customer can act on, never a crash, a hang or a server error). Runs are
 * bounded so the suite stays fast; a failure prints the seed and the shrunk input to replay it.
 */
const RUNS = 100
const XLSX_RUNS = 40

/** Reads `bytes` as `format` (forced, as a source configured for it does) or detected. */
async function outcome (bytes: Uint8Array, format?: FileFormat): Promise<Collected | { error: string }> {
  try {
    return await collect(Buffer.from(bytes), { fileName: format === undefined ? undefined : `file.${format}`, format })
  } catch (err) {
    // anything but a catalogued config error (a bug, a TypeError from a library) fails the property
    if (!isAppError(err) || err.failureType !== 'config') throw err
    return { error: err.code }
  }
}

/** Rows are in file order with positive row numbers; problems say what is wrong. */
function checkRows (got: Collected | { error: string }): void {
  if ('error' in got) return
  const rows = [...got.records.map(r => r.row), ...got.problems.map(p => p.row)].sort((a, b) => a - b)
  for (const row of rows) expect(Number.isInteger(row) && row >= 1).toBe(true)
  expect(new Set(rows).size).toBe(rows.length)
  for (const problem of got.problems) expect(problem.error.length).toBeGreaterThan(0)
}

/** Bytes that look like text files of each format (their syntax characters, often), or anything at all. */
const textBytes = (syntax: string): fc.Arbitrary<Uint8Array> => fc.oneof(
  fc.uint8Array({ maxLength: 2048 }),
  fc.string({ unit: fc.constantFrom(...syntax.split(''), 'a', '1', ' ', '\n', '\r', 'é', '\u0000', '\ud800'), maxLength: 512 })
    .map(s => new Uint8Array(Buffer.from(s, 'utf8'))),
)

describe('parsers: any bytes → rows or a file-level error', () => {
  it.each([
    ['csv', ',;"\t|'],
    ['json', '[]{}":,\\tfnul'],
    ['ndjson', '{}[]":,\\'],
  ] as const)('%s', async (format, syntax) => {
    await fc.assert(fc.asyncProperty(textBytes(syntax), async (bytes) => {
      checkRows(await outcome(bytes, format))
    }), { numRuns: RUNS })
  })

  it('format detected from the bytes alone', async () => {
    await fc.assert(fc.asyncProperty(textBytes(',;"{}[]:'), async (bytes) => {
      checkRows(await outcome(bytes))
    }), { numRuns: RUNS })
  })

  it('xlsx: arbitrary bytes, with or without a zip signature', async () => {
    const zipLike = fc.uint8Array({ maxLength: 2048 }).map(b => new Uint8Array(Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), b])))
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 2048 }), zipLike), async (bytes) => {
      checkRows(await outcome(bytes, 'xlsx'))
    }), { numRuns: XLSX_RUNS })
  })

  describe('xlsx: mutated small workbooks', () => {
    let workbook: Buffer
    beforeAll(async () => {
      const sink = new PassThrough()
      const chunks: Buffer[] = []
      sink.on('data', (c: Buffer) => chunks.push(c))
      const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: sink, useSharedStrings: true, useStyles: true })
      const sheet = writer.addWorksheet('Items')
      sheet.addRow(['sku', 'name', 'qty']).commit()
      for (let i = 1; i <= 20; i++) sheet.addRow([`A${i}`, `item ${i}`, i]).commit()
      sheet.commit()
      await writer.commit()
      workbook = Buffer.concat(chunks)
      // the unmutated workbook reads: the mutations below start from a good file
      const base = await outcome(workbook, 'xlsx')
      expect('records' in base && base.records.length).toBe(20)
    })

    it('bytes overwritten, cut or repeated', async () => {
      const mutation = fc.record({
        writes: fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { maxLength: 8 }),
        cut: fc.option(fc.nat()),
      })
      await fc.assert(fc.asyncProperty(mutation, async ({ writes, cut }) => {
        const bytes = Buffer.from(workbook)
        for (const { at, byte } of writes) bytes[at % bytes.length] = byte
        checkRows(await outcome(cut === null ? bytes : bytes.subarray(0, cut % bytes.length), 'xlsx'))
      }), { numRuns: XLSX_RUNS })
    })

    it('sheet XML edited (a stored zip, so the edits reach the XML parser)', async () => {
      const piece = fc.constantFrom('<', '>', '/', '"', '&', '&#0;', '&#xD800;', '&amp;', '<row r="2">', '</row>', '<c r="A2" t="s">',
        '<c r="ZZZ9" t="inlineStr"><is><t>', '</t></is></c>', '<v>', '</v>', '1', 'x', 'r="', 't="n"', '<sheetData>', '</sheetData>')
      const edit = fc.array(
        fc.record({ at: fc.nat(), insert: fc.array(piece, { maxLength: 4 }).map(p => p.join('')), drop: fc.nat({ max: 8 }) }), { maxLength: 6 })
      const sheetXml = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c><c r="B1" t="inlineStr"><is><t>qty</t></is></c></row>' +
        '<row r="2"><c r="A2" t="inlineStr"><is><t>A1</t></is></c><c r="B2"><v>3</v></c></row></sheetData>'
      await fc.assert(fc.asyncProperty(edit, async (edits) => {
        let text = sheetXml
        for (const { at, insert, drop } of edits) {
          const i = at % (text.length + 1)
          text = text.slice(0, i) + insert + text.slice(i + drop)
        }
        const xml = (body: string): string => `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${body}`
        const parts: Record<string, string> = {
          '[Content_Types].xml': xml('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
          'xl/workbook.xml': xml('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' +
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">' +
            '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'),
          'xl/_rels/workbook.xml.rels': xml('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" ' +
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
          'xl/worksheets/sheet1.xml': xml(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${text}</worksheet>`),
        }
        const zip = makeZip(Object.entries(parts).map(([name, data]) => ({ name, data: Buffer.from(data), method: 0 as const })))
        checkRows(await outcome(zip, 'xlsx'))
      }), { numRuns: XLSX_RUNS })
    })
  })
})

describe('csv: the tokenizer reads back what a CSV writer wrote', () => {
  const field = fc.string({ unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', '\r\n', 'é', ';'), maxLength: 6 })
  const file = fc.record({
    records: fc.array(fc.array(field, { minLength: 1, maxLength: 4 }), { maxLength: 12 }),
    quoteAll: fc.boolean(),
    newline: fc.constantFrom('\n', '\r\n', '\r'),
    finalNewline: fc.boolean(),
    chunk: fc.integer({ min: 1, max: 40 }),
  })
  const needsQuotes = (s: string): boolean => /[",\r\n]/.test(s)
  const write = (f: string, quoteAll: boolean): string => quoteAll || needsQuotes(f) ? `"${f.replace(/"/g, '""')}"` : f
  const lineBreaks = (s: string): number => (s.match(/\r\n|\r|\n/g) ?? []).length
  const blank = (record: string[]): boolean => record.every(f => f.trim() === '')

  it('fields, line numbers and blank records, whatever the chunking', () => {
    fc.assert(fc.property(file, ({ records, quoteAll, newline, finalNewline, chunk }) => {
      // a last record of one empty unquoted field is not a record at the end of the input
      const texts = records.map(r => r.map(f => write(f, quoteAll)).join(','))
      let text = ''
      const expected: Array<{ line: number, record: string[] }> = []
      let blanks = 0
      for (let i = 0; i < records.length; i++) {
        const line = 1 + lineBreaks(text)
        const last = i === records.length - 1
        const atEnd = last && !finalNewline
        if (blank(records[i])) {
          if (!(atEnd && texts[i] === '')) blanks++
        } else {
          expected.push({ line, record: records[i] })
        }
        text += texts[i] + (atEnd ? '' : newline)
      }
      const reader = new CsvReader(',', 1 << 20)
      const got: Array<{ line: number, record: string[] }> = []
      for (let i = 0; i < text.length; i += chunk) {
        reader.write(text.slice(i, i + chunk))
        const { records: rs, lines } = reader.take()
        rs.forEach((record, k) => got.push({ line: lines[k], record }))
      }
      reader.end()
      const { records: rs, lines } = reader.take()
      rs.forEach((record, k) => got.push({ line: lines[k], record }))
      expect(got).toEqual(expected)
      expect(reader.blankRecords).toBe(blanks)
    }), { numRuns: 500 })
  })
})

describe('csv: blank and short records', () => {
  it('blank lines count toward maxRows: a file of line breaks is bounded like a file of rows', async () => {
    const bytes = Buffer.from('sku,qty\n' + '\n'.repeat(50) + ' , \r\n'.repeat(50) + 'A1,1\n')
    await expect(collect(bytes, { fileName: 'blank.csv', limits: { maxRows: 100 } })).rejects.toMatchObject({ code: 'TOO_MANY_ROWS' })
    const read = await collect(bytes, { fileName: 'blank.csv', limits: { maxRows: 101 } })
    expect(read.records).toEqual([{ row: 102, values: { sku: 'A1', qty: '1' } }])
  })

  it('blank lines count toward maxRows in NDJSON too', async () => {
    const bytes = Buffer.from('{"sku":"A1"}\n' + '\n'.repeat(10) + '{"sku":"A2"}\n')
    await expect(collect(bytes, { fileName: 'x.ndjson', limits: { maxRows: 11 } })).rejects.toMatchObject({ code: 'TOO_MANY_ROWS' })
    expect((await collect(bytes, { fileName: 'x.ndjson', limits: { maxRows: 12 } })).records.map(r => r.row)).toEqual([1, 12])
  })

  it('a file of blank lines lets timers run while it is read (the parser does not hold the event loop)', async () => {
    // in-memory chunks: without breaks, only promise jobs would run until the whole file is read
    const bytes = Buffer.from('sku,qty\n' + '\n'.repeat(16 * 1024 * 1024) + 'A1,1\n')
    let ticks = 0
    const timer = setInterval(() => { ticks++ }, 1)
    try {
      const read = await collect(bytes, { fileName: 'blank.csv', limits: { maxRows: LIMITS.maxRows * 20 } })
      expect(read.records).toHaveLength(1)
      expect(ticks).toBeGreaterThan(0)
    } finally {
      clearInterval(timer)
    }
  })
})
