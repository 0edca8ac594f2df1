import { describe, it, expect } from 'vitest'
import { Readable } from 'node:stream'
import { openInventoryStream } from '../../../src/formats/index.js'
import { LIMITS } from '../../fixtures/formats/corpus.js'

const ROWS = 1_000_000
const MB = 1024 * 1024

/** A CSV produced on the fly: the file never exists in memory or on disk. */
async function * generatedCsv (rows: number): AsyncGenerator<Buffer> {
  yield Buffer.from('sku,name,quantity,price,currency,location,colour\n')
  const batch = 2000
  for (let start = 0; start < rows; start += batch) {
    let chunk = ''
    for (let i = start; i < Math.min(rows, start + batch); i++) {
      chunk += `SKU-${i},"Widget ${i}, deluxe",${i % 500},${(i % 10_000) / 100},EUR,WH-${i % 17},blue\n`
    }
    yield Buffer.from(chunk)
  }
}

describe('memory stays flat whatever the file size', () => {
  it(`parses a generated ${ROWS.toLocaleString('en')}-row CSV with peak RSS under 300 MB`, async () => {
    let peak = process.memoryUsage().rss
    const sample = (): void => { peak = Math.max(peak, process.memoryUsage().rss) }
    const timer = setInterval(sample, 100)
    try {
      const opened = await openInventoryStream(Readable.from(generatedCsv(ROWS)), { fileName: 'big.csv', limits: LIMITS })
      let records = 0
      let problems = 0
      let last = 0
      for await (const batch of opened.batches) {
        for (const row of batch) {
          if ('error' in row) problems++
          else records++
          last = row.row
        }
        sample() // also sample when the event loop is busy
      }
      sample()
      expect(records).toBe(ROWS)
      expect(problems).toBe(0)
      expect(last).toBe(ROWS + 1)
      expect(opened.bytesRead()).toBeGreaterThan(50 * MB)
    } finally {
      clearInterval(timer)
    }
    console.log(`peak RSS ${(peak / MB).toFixed(0)} MB`)
    expect(peak).toBeLessThan(300 * MB)
  }, 300_000)
})
