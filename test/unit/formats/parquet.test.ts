import { parquetMetadata } from 'hyparquet'
import { parquetWriteBuffer } from 'hyparquet-writer'
import { describe, expect, it } from 'vitest'
import { collect } from '../../fixtures/formats/corpus.js'

const MB = 1024 * 1024
const GROUP = 40_000
const ROWS = 2 * GROUP + 5_000
const TEXT = 'Stainless steel hex bolt, zinc plated, DIN 933, for indoor and outdoor use; packed in boxes of 100 pieces. '.repeat(4)
const description = (i: number) => `${TEXT}#${i}`

describe('parquet row groups read column by column', () => {
  it('a group whose indexed columns span several slices and whose one-page columns have no index: every row, in order, numbered', async () => {
    const file = Buffer.from(parquetWriteBuffer({
      columnData: [
        { name: 'sku', data: Array.from({ length: ROWS }, (_, i) => `SKU-${i}`), type: 'STRING' },
        { name: 'description', data: Array.from({ length: ROWS }, (_, i) => description(i)), type: 'STRING' },
        { name: 'quantity', data: Array.from({ length: ROWS }, (_, i) => BigInt(i % 500)), type: 'INT64' },
      ],
      rowGroupSize: GROUP,
    }))
    // the layout this test is about: per full group, `description` is paged with an offset index and over 16 MiB
    // uncompressed (several slices of a few MiB), `sku` and `quantity` are one page each, without an index
    const { row_groups: groups } = parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.length))
    expect(groups.map(g => Number(g.num_rows))).toEqual([GROUP, GROUP, 5_000])
    const chunk = (g: number, name: string) => groups[g].columns.find(c => c.meta_data?.path_in_schema[0] === name)!
    expect(Number(chunk(0, 'description').meta_data?.total_uncompressed_size)).toBeGreaterThan(2 * 8 * MB)
    expect(chunk(0, 'description').offset_index_offset).toBeDefined()
    expect(chunk(0, 'sku').offset_index_offset).toBeUndefined()
    expect(chunk(0, 'quantity').offset_index_offset).toBeUndefined()

    const got = await collect(file, { fileName: 'stock.parquet', limits: { maxFileBytes: 256 * MB } })
    expect(got.problems).toEqual([])
    expect(got.records).toHaveLength(ROWS)
    const wrong = got.records.findIndex((r, i) => r.row !== i + 1 || r.values.sku !== `SKU-${i}` ||
      r.values.quantity !== i % 500 || r.values.description !== description(i))
    expect(wrong).toBe(-1)
    // the columns keep the file's order
    expect(Object.keys(got.records[0].values)).toEqual(['sku', 'description', 'quantity'])
  }, 60_000)
})
