import { describe, it, expect } from 'vitest'
import { TEXT_CASES, collect, errorCode, gzip, type Case, type Outcome } from '../../fixtures/formats/corpus.js'

async function check (c: Case, bytes: Buffer, fileName: string | undefined, compressed: boolean): Promise<void> {
  const options = { fileName, contentType: c.contentType, limits: c.limits }
  if ('error' in c.expect) {
    expect(await errorCode(collect(bytes, options))).toBe(c.expect.error)
    return
  }
  const want: Outcome = c.expect
  const got = await collect(bytes, options)
  expect(got.format).toBe(want.format)
  expect(got.compressed).toBe(compressed)
  if (want.encoding !== undefined) expect(got.encoding).toBe(want.encoding)
  if (want.rows !== undefined) expect(got.records).toHaveLength(want.rows)
  if (want.rowNumbers !== undefined) expect(got.records.map(r => r.row)).toEqual(want.rowNumbers)
  if (want.problems !== undefined) expect(got.problems.map(p => p.row)).toEqual(want.problems)
  if (want.first !== undefined) expect(got.records[0].values).toEqual(want.first)
  if (want.warning !== undefined) expect(got.warnings.some(w => want.warning?.test(w))).toBe(true)
  else expect(got.warnings).toEqual([])
  expect(got.bytesRead).toBe(bytes.length)
}

describe('text fixture corpus', () => {
  for (const c of TEXT_CASES) {
    it(c.name, async () => {
      await check(c, c.bytes, c.fileName, false)
    })
    if (c.noGzip !== true) {
      it(`${c.name} (gzip)`, async () => {
        await check(c, gzip(c.bytes), c.fileName === undefined ? undefined : `${c.fileName}.gz`, true)
      })
    }
  }
})
