import { describe, expect, it } from 'vitest'
import { compilePattern } from '../../../src/domain/source.js'
import { skipReason } from '../../../src/sync/pull.js'

const file = (key: string, size = 10) => ({ key, etag: '"e"', size, lastModified: new Date() })

describe('which listed objects a pull skips', () => {
  const all = compilePattern(undefined)
  it('skips folder markers, empty objects and unsupported types', () => {
    expect(skipReason(file('daily/folder/', 0), 'folder/', all, false)).toBe('folder marker')
    expect(skipReason(file('daily/empty.csv', 0), 'empty.csv', all, false)).toBe('empty file')
    expect(skipReason(file('daily/report.pdf'), 'report.pdf', all, false)).toBe('unsupported file type ".pdf"')
    expect(skipReason(file('daily/photo.PNG'), 'photo.PNG', all, false)).toBe('unsupported file type ".png"')
  })
  it('takes supported types, gzipped ones and extension-less files (sniffed)', () => {
    for (const key of ['a.csv', 'a.CSV.gz', 'b.json', 'c.ndjson', 'd.jsonl', 'e.xlsx', 'f.tsv', 'g.txt', 'noext']) {
      expect(skipReason(file(`daily/${key}`), key, all, false), key).toBeNull()
    }
  })
  it('takes any extension when the source names its format', () => {
    expect(skipReason(file('daily/export.dat'), 'export.dat', all, true)).toBeNull()
  })
  it('applies the pattern to the key below the prefix', () => {
    const csvOnly = compilePattern('**/*.csv')
    expect(skipReason(file('p/a.csv'), 'a.csv', csvOnly, false)).toBeNull()
    expect(skipReason(file('p/x/y/a.csv'), 'x/y/a.csv', csvOnly, false)).toBeNull()
    expect(skipReason(file('p/a.json'), 'a.json', csvOnly, false)).toBe('does not match the pattern')
  })
})
