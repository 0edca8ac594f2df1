import { describe, it, expect } from 'vitest'
import { Readable } from 'node:stream'
import { MappedFile, isRejection, type Outcome } from '../../../src/pipeline/reader.js'
import { LIMITS, chunked } from '../../fixtures/formats/corpus.js'

// The CSV parser tests each decoded chunk for text PostgreSQL cannot store and lets the pipeline skip
// its per-cell test on batches read only from clean chunks (ParseOptions.onStorableBatch). A lone
// surrogate (UTF-16 keeps it through decoding) must still reject its row wherever the chunks are cut.

const LONE = '\ud800'

async function rejected (text: string, chunkSize: number): Promise<Array<{ row: number, reason: string }>> {
  // UTF-16LE with a BOM: Buffer.from(…, 'utf16le') writes a lone surrogate as its code unit
  const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
  const file = await MappedFile.open({ stream: Readable.from(chunked(bytes, chunkSize)), fileName: 'items.csv', fieldMap: {}, limits: LIMITS })
  const outcomes: Outcome[] = []
  for await (const batch of file.outcomes()) outcomes.push(...batch)
  return outcomes.filter(isRejection).map(({ row, reason }) => ({ row, reason }))
}

/** Rows 2…n+1 of filler, so that what follows lies past the first 64 KiB (the sniffed head, one chunk). */
const filler = (n: number): string => Array.from({ length: n }, (_, i) => `F${i},filler text,1\n`).join('')

describe('csv: rows with text PostgreSQL cannot store, past the first chunk', () => {
  const FILLER = 4000 // ~80 KiB of UTF-16
  const text = 'sku,name,qty\n' + filler(FILLER) +
    `A1,"a quoted\nfield ${LONE} across lines",2\n` + // row FILLER + 2, two lines
    'A2,clean,3\n' +
    `A3,"${'long '.repeat(200)}${LONE}",4\n` + // the flaw at the end of a long field
    'A4,clean,5\n'

  it.each([7, 64, 1001, 65536])('are rejected whatever the chunk size (%i bytes), and the others are not', async (chunkSize) => {
    const reason = '"name" holds an unpaired UTF-16 surrogate (invalid Unicode), which cannot be stored'
    expect(await rejected(text, chunkSize)).toEqual([
      { row: FILLER + 2, reason },
      { row: FILLER + 5, reason },
    ])
  })

  it('a header with one rejects every row, in every chunk', async () => {
    const got = await rejected(`sku,na${LONE}me,qty\n` + filler(FILLER), 1001)
    expect(got).toHaveLength(FILLER)
    expect(got[FILLER - 1]).toEqual({ row: FILLER + 1, reason: 'a column name holds an unpaired UTF-16 surrogate (invalid Unicode), which cannot be stored' })
  })
})
