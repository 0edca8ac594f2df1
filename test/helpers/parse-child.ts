/**
 * Parses a generated CSV of N rows (argv: N), or a file (argv: its path), through `openInventoryStream`
 * (no database) and prints {records, problems, last, bytes, maxRssBytes} as JSON. Run as a child process
 * (test/unit/formats/memory.test.ts) so its peak RSS is the parser's alone and its heap can be capped.
 */
import { createReadStream } from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { openInventoryStream } from '../../src/formats/index.js'
import { LIMITS } from '../fixtures/formats/corpus.js'

const arg = process.argv[2] ?? '1000000'
const rows = Number(arg)

/** A CSV produced on the fly: the file never exists in memory or on disk. */
async function * generatedCsv (): AsyncGenerator<Buffer> {
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

const opened = Number.isInteger(rows)
  ? await openInventoryStream(Readable.from(generatedCsv()), { fileName: 'big.csv', limits: LIMITS })
  : await openInventoryStream(createReadStream(arg), { fileName: path.basename(arg), limits: LIMITS })
let records = 0
let problems = 0
let last = 0
for await (const batch of opened.batches) {
  for (const row of batch) {
    if ('error' in row) problems++
    else records++
    last = row.row
  }
}
// resourceUsage().maxRSS is in KiB
console.log(JSON.stringify({ records, problems, last, bytes: opened.bytesRead(), maxRssBytes: process.resourceUsage().maxRSS * 1024 }))
