import { describe, it, expect } from 'vitest'
import { Readable } from 'node:stream'
import { ROW_BATCH, parsers, type ParsedRow } from '../../../src/formats/index.js'
import { LIMITS, chunked, collect, errorCode, parseBatches } from '../../fixtures/formats/corpus.js'

async function parse (format: 'json' | 'ndjson', text: string, chunkSize = 1): Promise<ParsedRow[]> {
  const rows: ParsedRow[] = []
  const warnings: string[] = []
  const source = Readable.from(chunked(Buffer.from(text), chunkSize))
  for await (const batch of parsers[format].parse(source, { limits: LIMITS, onWarning: w => warnings.push(w) })) rows.push(...batch)
  return rows
}

const POLLUTING_JSON = '[{"sku":"A1","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
  '"nested":{"__proto__":{"polluted":true},"ok":1},"list":[{"prototype":{"polluted":true},"x":2}]}]'
const POLLUTING_NDJSON = '{"sku":"A1","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},' +
  '"nested":{"__proto__":{"polluted":true},"ok":1},"list":[{"prototype":{"polluted":true},"x":2}]}\n'

describe('json / ndjson: prototype pollution', () => {
  for (const [format, text, fileName] of [['json', POLLUTING_JSON, 'p.json'], ['ndjson', POLLUTING_NDJSON, 'p.ndjson']] as const) {
    it(`${format}: __proto__ / constructor / prototype keys are dropped at every level`, async () => {
      const got = await collect(Buffer.from(text), { fileName })
      expect(got.format).toBe(format)
      const values = got.records[0].values
      expect(values).toEqual({ sku: 'A1', nested: { ok: 1 }, list: [{ x: 2 }] })
      expect(Object.getPrototypeOf(values)).toBe(Object.prototype)
      expect(Object.hasOwn(values, '__proto__')).toBe(false)
      expect(Object.hasOwn(values, 'constructor')).toBe(false)
      expect(Object.hasOwn(values.nested as object, '__proto__')).toBe(false)
      expect((values as { polluted?: unknown }).polluted).toBeUndefined()
      // merging the record into another object (what the pipeline does with attributes) pollutes nothing
      const merged = Object.assign({}, values, values.nested as object)
      expect((merged as { polluted?: unknown }).polluted).toBeUndefined()
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
      expect(got.warnings.length).toBeGreaterThan(0)
    })
  }
})

describe('json: streaming', () => {
  it('gives the same records whatever the chunking (1-byte chunks split every token)', async () => {
    const text = '{ "meta": {"n": 2}, "items": [ ' +
      '{"sku":"A1","qty":-1.5e2,"name":"caf\\u00e9 \\"q\\"","ok":true,"none":null,"tags":["x",{"y":[1]}]}, {"sku":"Ünï ✓"} ] }'
    const expected = [
      { row: 1, values: { sku: 'A1', qty: -150, name: 'café "q"', ok: true, none: null, tags: ['x', { y: [1] }] } },
      { row: 2, values: { sku: 'Ünï ✓' } },
    ]
    expect(await parse('json', text, 1)).toEqual(expected)
    expect(await parse('json', text, 7)).toEqual(expected)
    expect(await parse('json', text, 1 << 20)).toEqual(expected)
  })

  it('a record larger than maxLineBytes fails with LINE_TOO_LONG, an endless string with CELL_TOO_LONG', async () => {
    const wide = `[{"sku":"A1",${Array.from({ length: 40 }, (_, i) => `"k${i}":"${'v'.repeat(20)}"`).join(',')}}]`
    expect(await errorCode(collect(Buffer.from(wide), { fileName: 'w.json', limits: { maxLineBytes: 500 } }))).toBe('LINE_TOO_LONG')
    const endless = Buffer.from(`[{"sku":"${'x'.repeat(200_000)}`)
    expect(await errorCode(collect(endless, { fileName: 'e.json', limits: { maxCellChars: 1000 } }))).toBe('CELL_TOO_LONG')
  })

  it('deep nesting never reaches a recursive code path', async () => {
    const text = `[{"sku":"A1","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}]`
    expect(await errorCode(collect(Buffer.from(text), { fileName: 'd.json' }))).toBe('JSON_TOO_DEEP')
    const line = `{"sku":"A1","x":${'['.repeat(200_000)}${']'.repeat(200_000)}}\n`
    expect(await errorCode(collect(Buffer.from(line), { fileName: 'd.ndjson', limits: { maxLineBytes: 1 << 20 } }))).toBe('JSON_TOO_DEEP')
  })
})

describe('ndjson: streaming', () => {
  it('splits lines across chunks, CRLF and a last line without newline included', async () => {
    const text = '{"sku":"A1"}\r\n\r\n{"sku":"Ünï ✓"}\n{bad\n{"sku":"A4"}'
    const expected = [
      { row: 1, values: { sku: 'A1' } },
      { row: 3, values: { sku: 'Ünï ✓' } },
      { row: 4, error: expect.stringContaining('Line 4 is not valid JSON') },
      { row: 5, values: { sku: 'A4' } },
    ]
    expect(await parse('ndjson', text, 1)).toEqual(expected)
    expect(await parse('ndjson', text, 5)).toEqual(expected)
  })

  it('an endless line fails as soon as it passes the limit', async () => {
    async function * endless (): AsyncGenerator<Buffer> {
      yield Buffer.from('{"sku":"')
      for (;;) yield Buffer.alloc(64 * 1024, 0x78) // never ends: the limit must stop it
    }
    const rows = parsers.ndjson.parse(Readable.from(endless()), { limits: { ...LIMITS, maxLineBytes: 1 << 20 } })
    expect(await errorCode((async () => { for await (const _ of rows) { /* drain */ } })())).toBe('LINE_TOO_LONG')
  })
})

describe('json / ndjson: batches', () => {
  it('rows read from one chunk are split into batches of ROW_BATCH, numbers and problems kept across the split', async () => {
    const n = 2 * ROW_BATCH + 1
    const objects = Array.from({ length: n }, (_, i) => i === ROW_BATCH - 1 || i === ROW_BATCH ? '7' : `{"sku":"A${i + 1}"}`)
    for (const [format, text] of [['ndjson', objects.join('\n') + '\n'], ['json', `[${objects.join(',')}]`]] as const) {
      const batches = await parseBatches(format, Buffer.from(text))
      expect(batches.map(b => b.length), format).toEqual([ROW_BATCH, ROW_BATCH, 1])
      const rows = batches.flat()
      expect(rows.map(r => r.row), format).toEqual(Array.from({ length: n }, (_, i) => i + 1))
      expect(rows.filter(r => 'error' in r).map(r => r.row), format).toEqual([ROW_BATCH, ROW_BATCH + 1])
    }
  })
})
