import { describe, it, expect } from 'vitest'
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import iconv from 'iconv-lite'
import { detectFormat, formatFromContentType, formatFromFileName, openInventoryStream } from '../../../src/formats/index.js'
import { decodeText, firstInvalidUtf8, incompleteUtf8Tail, type DecodeState } from '../../../src/formats/encoding.js'
import { LIMITS, chunked, collect, errorCode } from '../../fixtures/formats/corpus.js'

const head = (s: string | Buffer): Buffer => Buffer.isBuffer(s) ? s : Buffer.from(s)

describe('detectFormat', () => {
  it('explicit format wins over everything', () => {
    expect(detectFormat({ head: head('PK\x03\x04xxxx'), complete: true, fileName: 'a.xlsx', format: 'csv' })).toBe('csv')
  })

  it('extension (ignoring .gz), then content type, then content', () => {
    expect(formatFromFileName('Stock.CSV.gz')).toBe('csv')
    expect(formatFromFileName('a.jsonl')).toBe('ndjson')
    expect(formatFromFileName('a.xlsm')).toBe('xlsx')
    expect(formatFromFileName('a.txt')).toBeUndefined()
    expect(formatFromContentType('application/json; charset=utf-8')).toBe('json')
    expect(formatFromContentType('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')).toBe('xlsx')
    expect(detectFormat({ head: head('a;b\n1;2\n'), complete: true, fileName: 'x.csv', contentType: 'application/json' })).toBe('csv')
    expect(detectFormat({ head: head('{"a":1}\n'), complete: true, contentType: 'application/json' })).toBe('json')
    expect(detectFormat({ head: head('{"a":1}\n{"a":2}\n'), complete: true, contentType: 'application/json' })).toBe('ndjson')
  })

  it('content overrides the name only when it clearly contradicts it', () => {
    expect(detectFormat({ head: head('PK\x03\x04rest'), complete: true, fileName: 'a.csv' })).toBe('xlsx')
    expect(detectFormat({ head: head('{"a":1}\n{"a":2}'), complete: true, fileName: 'a.csv' })).toBe('ndjson')
    expect(detectFormat({ head: head('{a},{b}\n1,2\n'), complete: true, fileName: 'a.csv' })).toBe('csv') // braces, but not JSON
    expect(detectFormat({ head: head('[sku],[name]\n1,2\n'), complete: true, fileName: 'a.csv' })).toBe('csv')
    expect(detectFormat({ head: head('sku,name\n'), complete: true, fileName: 'a.xlsx' })).toBe('csv')
    expect(detectFormat({ head: head('{\n  "items": []\n}'), complete: true, fileName: 'a.ndjson' })).toBe('json')
  })

  it('a minified document longer than the sniffed head is JSON, not one giant NDJSON line', () => {
    expect(detectFormat({ head: head('{"meta":{"a":1},"data":[' + '{"sku":"x"},'.repeat(100)), complete: false })).toBe('json')
  })

  it('binary formats we do not read', async () => {
    expect(() => detectFormat({ head: head(Buffer.from('%PDF-1.7\n')), complete: false })).toThrow(/PDF/)
    // Parquet is read now: a truncated one fails as a broken Parquet file, not as an unknown format
    expect(await errorCode(collect(Buffer.from('PAR1\x00\x00'), { fileName: 'x.parquet' }))).toBe('PARSE_FAILED')
    expect(detectFormat({ head: Buffer.from('PAR1\x15\x04'), complete: false, fileName: 'stock' })).toBe('parquet')
    expect(await errorCode(collect(zlib.gzipSync(zlib.gzipSync(Buffer.from('a,b\n'))), { fileName: 'x.csv.gz' }))).toBe('UNSUPPORTED_FORMAT')
  })
})

describe('gzip', () => {
  it('is detected by magic bytes, not by name', async () => {
    const got = await collect(zlib.gzipSync(Buffer.from('sku,name\nA1,x\n')), { fileName: 'items.csv' })
    expect([got.format, got.compressed, got.records.length]).toEqual(['csv', true, 1])
  })

  it('a .gz name on a plain file is fine', async () => {
    const got = await collect(Buffer.from('sku,name\nA1,x\n'), { fileName: 'items.csv.gz' })
    expect([got.format, got.compressed, got.records.length]).toEqual(['csv', false, 1])
  })

  it('concatenated gzip members are read whole', async () => {
    const got = await collect(Buffer.concat([zlib.gzipSync('sku\nA1\n'), zlib.gzipSync('A2\n')]), { fileName: 'x.csv.gz' })
    expect(got.records.map(r => r.values.sku)).toEqual(['A1', 'A2'])
  })

  it('a gzip bomb stops at maxFileBytes of decompressed data', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x41))
    expect(bomb.length).toBeLessThan(100 * 1024)
    await expect(collect(bomb, { fileName: 'x.csv.gz', limits: { maxFileBytes: 1024 * 1024 } }))
      .rejects.toMatchObject({ code: 'FILE_TOO_LARGE', details: { what: 'decompressed file' } })
  })

  it('the compressed size is limited too', async () => {
    const noise = zlib.gzipSync(Buffer.from(Array.from({ length: 50_000 }, (_, i) => `${i},${(i * 7919) % 10007}\n`).join('')), { level: 0 })
    await expect(collect(noise, { limits: { maxFileBytes: 10_000 } })).rejects.toMatchObject({ code: 'FILE_TOO_LARGE', details: { what: 'file' } })
  })

  it('corrupt or truncated gzip is PARSE_FAILED; gzip of nothing is EMPTY_FILE', async () => {
    const gz = zlib.gzipSync(Buffer.from('sku,name\n' + 'A1,x\n'.repeat(10_000)))
    expect(await errorCode(collect(gz.subarray(0, gz.length - 100), { fileName: 'x.csv.gz' }))).toBe('PARSE_FAILED')
    const corrupt = Buffer.from(gz)
    corrupt.fill(0x55, 20, 60)
    expect(await errorCode(collect(corrupt, { fileName: 'x.csv.gz' }))).toBe('PARSE_FAILED')
    expect(await errorCode(collect(zlib.gzipSync(Buffer.alloc(0)), { fileName: 'x.csv.gz' }))).toBe('EMPTY_FILE')
  })
})

describe('openInventoryStream', () => {
  it('counts bytes, reports warnings through onWarning once each, and reads nothing before iteration', async () => {
    let pulled = 0
    async function * source (): AsyncGenerator<Buffer> {
      for (const chunk of chunked(iconv.encode('sku,name,name\n' + 'A1,Café,x\n'.repeat(20_000), 'windows-1252'), 1000)) {
        pulled += chunk.length
        yield chunk
      }
    }
    const seen: string[] = []
    const opened = await openInventoryStream(Readable.from(source()), { fileName: 'x.csv', limits: LIMITS, onWarning: w => seen.push(w) })
    expect(pulled).toBeLessThan(100_000) // the 64 KiB sniffed head (plus the stream read-ahead), not the 220 KB file
    let rows = 0
    for await (const batch of opened.batches) for (const row of batch) if (!('error' in row)) rows++
    expect(rows).toBe(20_000)
    expect(opened.encoding).toBe('windows-1252')
    expect(opened.bytesRead()).toBe(pulled)
    expect(seen).toEqual(opened.warnings)
    expect(seen).toHaveLength(2) // encoding + duplicate header, each once
  })

  it('0 bytes is EMPTY_FILE before any parser runs', async () => {
    await expect(openInventoryStream(Readable.from([]), { limits: LIMITS })).rejects.toMatchObject({ code: 'EMPTY_FILE' })
  })

  it('breaking out of the rows stops reading the input', async () => {
    let pulled = 0
    async function * endless (): AsyncGenerator<Buffer> {
      yield Buffer.from('sku\n')
      for (let i = 0; ; i++) {
        pulled++
        yield Buffer.from(`A${i}\n`)
      }
    }
    const opened = await openInventoryStream(Readable.from(endless()), { fileName: 'x.csv', limits: LIMITS })
    let n = 0
    for await (const batch of opened.batches) if ((n += batch.length) >= 10) break
    const after = pulled
    // a deliberate wait: a stream that kept reading would pull more meanwhile
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(pulled).toBe(after)
  })
})

describe('text decoding', () => {
  async function decode (bytes: Buffer, chunkSize: number): Promise<{ text: string, state: DecodeState, warnings: string[] }> {
    const warnings: string[] = []
    const state: DecodeState = { encoding: 'utf-8', warn: w => warnings.push(w) }
    let text = ''
    for await (const s of decodeText(Readable.from(chunked(bytes, chunkSize)), bytes.subarray(0, 4), state)) text += s
    return { text, state, warnings }
  }

  it('UTF-8 split at every byte', async () => {
    const s = 'a,Café ✓ 日本語 😀\n'
    const got = await decode(Buffer.from(s), 1)
    expect([got.text, got.state.encoding, got.warnings]).toEqual([s, 'utf-8', []])
  })

  it('windows-1252 split at every byte', async () => {
    const s = 'a,Café crème €\n'
    const got = await decode(iconv.encode(s, 'windows-1252'), 1)
    expect([got.text, got.state.encoding, got.warnings.length]).toEqual([s, 'windows-1252', 1])
  })

  it('UTF-16 LE/BE split at odd offsets', async () => {
    for (const encoding of ['utf-16le', 'utf-16be'] as const) {
      const s = 'sku,name\nA1,Café 😀\n'
      const got = await decode(iconv.encode(s, encoding, { addBOM: true }), 3)
      expect([got.text, got.state.encoding]).toEqual([s, encoding])
    }
  })

  it('helpers', () => {
    expect(incompleteUtf8Tail(Buffer.from([0x41, 0xe2, 0x9c]))).toBe(2)
    expect(incompleteUtf8Tail(Buffer.from([0x41, 0xe2, 0x9c, 0x93]))).toBe(0)
    expect(incompleteUtf8Tail(Buffer.from([0x41, 0xf0]))).toBe(1)
    expect(firstInvalidUtf8(Buffer.from('Caf\u00e9', 'latin1'))).toBe(3)
    expect(firstInvalidUtf8(Buffer.from('Café'))).toBe(5)
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0) // encoded surrogate
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0x80]))).toBe(0) // overlong
  })
})
