import { describe, expect, it } from 'vitest'
import type { S3Config } from '../../../src/kinds/s3/config.js'
import { s3Kind } from '../../../src/kinds/s3/index.js'
import { newestMatching } from '../../../src/preview/service.js'
import { MemoryTransport } from '../../helpers/memory-transport.js'

/** The preview's choice of file, the pull's skip rules, over the Transport interface only. */
describe('the newest file a pull would take', () => {
  const store = (files: Record<string, { body: string, at: string }>) => {
    const t = new MemoryTransport(2)
    for (const [key, f] of Object.entries(files)) t.files.set(key, { body: Buffer.from(f.body), lastModified: new Date(f.at) })
    return t
  }
  const config: S3Config = { bucket: 'b', prefix: 'in/', region: 'us-east-1', secretRef: 'x' }
  const location = s3Kind.location!(config)

  it('skips folder markers, empty files, unsupported types and pattern misses, across pages', async () => {
    const t = store({
      'in/old.csv': { body: 'sku\n1\n', at: '2025-01-01' },
      'in/folder/': { body: '', at: '2025-06-01' },
      'in/empty.csv': { body: '', at: '2025-06-01' },
      'in/report.pdf': { body: '%PDF-', at: '2025-06-01' },
      'in/sub/new.json': { body: '[]', at: '2025-05-01' },
      'in/newer.csv': { body: 'sku\n2\n', at: '2025-04-01' },
    })
    expect((await newestMatching(t, location, config)).key).toBe('in/sub/new.json')
    expect((await newestMatching(t, location, { ...config, pattern: '*.csv' })).key).toBe('in/newer.csv')
    // a configured format reads any extension
    expect((await newestMatching(t, location, { ...config, format: 'csv', pattern: 'report.*' })).key).toBe('in/report.pdf')
  })

  it('says where it looked when nothing matches', async () => {
    await expect(newestMatching(store({}), location, { ...config, pattern: '*.xlsx' })).rejects.toMatchObject({
      code: 'NO_FILE_TO_PREVIEW', message: 'No file under the prefix "in/" matches the pattern "*.xlsx" in a supported format yet.',
    })
  })
})
