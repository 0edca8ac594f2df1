import { describe, it, expect } from 'vitest'
import { findTextFlaw, storableText, textFlaw } from '../../../src/util/text.js'

describe('text PostgreSQL cannot store', () => {
  it.each([
    ['plain', undefined],
    ['a pair 😀 and é', undefined],
    ['a\u0000b', 'a NUL character (U+0000)'],
    ['high \ud83d alone', 'an unpaired UTF-16 surrogate (invalid Unicode)'],
    ['low \ude00 alone', 'an unpaired UTF-16 surrogate (invalid Unicode)'],
    ['reversed \ude00\ud83d', 'an unpaired UTF-16 surrogate (invalid Unicode)'],
    ['at the end \ud83d', 'an unpaired UTF-16 surrogate (invalid Unicode)'],
  ])('%j → %s', (s, flaw) => {
    expect(textFlaw(s)).toBe(flaw)
  })

  it('finds the first flaw in keys and nested values, with a path that never holds the flaw itself', () => {
    expect(findTextFlaw({ sku: 'A1', qty: 3, ok: true, none: null })).toBeUndefined()
    expect(findTextFlaw({ sku: 'A\u0000' })).toMatchObject({ path: '/sku', inKey: false })
    expect(findTextFlaw({ sku: 'A', 'b\u0000ad': 1 })).toMatchObject({ path: '', inKey: true })
    expect(findTextFlaw({ dims: { w: [1, 'x', { 'k\ud800': 1 }] } })).toMatchObject({ path: '/dims/w/2', inKey: true })
    expect(findTextFlaw(['ok', ['\u0000']])).toMatchObject({ path: '/1/0', inKey: false })
    expect(findTextFlaw(Buffer.from([0]))).toBeUndefined() // bytes are not text
    const query = Object.create(Object.create(null)) as Record<string, string> // the query-string parser's objects
    query.status = '\u0000'
    expect(findTextFlaw(query)).toMatchObject({ path: '/status' })
  })

  it('storableText replaces each flaw with U+FFFD and keeps pairs', () => {
    expect(storableText('a\u0000b \ud800 😀')).toBe('a\ufffdb \ufffd 😀')
    const clean = 'clean'
    expect(storableText(clean)).toBe(clean)
  })
})
