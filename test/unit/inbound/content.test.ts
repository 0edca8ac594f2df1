import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import { readContentType, sanitiseFileName } from '../../../src/inbound/content.js'

describe('readContentType', () => {
  it('takes the file types and their parameters', () => {
    expect(readContentType({ 'content-type': 'text/CSV; charset=windows-1252' }))
      .toMatchObject({ mediaType: 'text/csv', contentType: 'text/CSV; charset=windows-1252', fallbackName: 'inbound.csv' })
    expect(readContentType({ 'content-type': 'application/x-ndjson' }).fallbackName).toBe('inbound.ndjson')
    expect(readContentType({ 'content-type': 'application/gzip' }).fallbackName).toBe('inbound.gz')
    expect(readContentType({ 'content-type': 'text/csv', 'content-encoding': 'gzip' }).mediaType).toBe('text/csv')
  })

  it('answers 415 to anything else', () => {
    for (const headers of [
      {}, { 'content-type': 'text/plain' }, { 'content-type': 'multipart/form-data; boundary=x' }, { 'content-type': 'text/csv', 'content-encoding': 'br' },
    ]) {
      let err: unknown
      try { readContentType(headers) } catch (e) { err = e }
      expect(err, JSON.stringify(headers)).toBeInstanceOf(AppError)
      expect((err as AppError).statusCode).toBe(415)
    }
  })
})

describe('sanitiseFileName', () => {
  it.each([
    [undefined, 'fallback.csv'],
    ['', 'fallback.csv'],
    ['stock.csv', 'stock.csv'],
    ['/var/tmp/../stock.csv', 'stock.csv'],
    ['..\\..\\windows\\stock.csv', 'stock.csv'],
    ['..', 'fallback.csv'],
    ['.hidden.csv', 'hidden.csv'],
    ['a\u0000b\r\nc.csv', 'abc.csv'],
    ['invoice\u202Efdp.exe', 'invoicefdp.exe'],
    ['%E2%82%AC-prices.csv', '€-prices.csv'],
    ['100%.csv', '100%.csv'],
    ['bad%E2.csv', 'bad%E2.csv'],
    ['dir%2Fescape.csv', 'escape.csv'],
  ])('%j → %j', (raw, expected) => {
    expect(sanitiseFileName(raw, 'fallback.csv')).toBe(expected)
  })

  it('shortens long names and keeps the extension', () => {
    const name = sanitiseFileName('x'.repeat(500) + '.csv.gz', 'f')
    expect(name).toHaveLength(200)
    expect(name.endsWith('.csv.gz')).toBe(true)
  })
})
