import { describe, expect, it } from 'vitest'
import { ApiKeyCache } from '../../../src/auth/api-key-cache.js'
import type { ApiKeyRecord } from '../../../src/db/sql/api-keys.js'

const record = (id: string): ApiKeyRecord =>
  ({
    id, orgId: 'org', name: id, hint: 'abcd', role: 'admin', isInstanceAdmin: false, createdAt: '2026-01-01T00:00:00.000Z', lastUsedAt: null,
    expiresAt: null
  })

function clocked (ttlMs: number, maxEntries?: number) {
  let now = 1_000_000
  const cache = new ApiKeyCache(ttlMs, maxEntries, () => now)
  return { cache, advance: (ms: number) => { now += ms } }
}

describe('ApiKeyCache', () => {
  it('answers a verified key until its time is up, then asks for a new lookup', () => {
    const { cache, advance } = clocked(5_000)
    expect(cache.get('h1')).toBeUndefined()
    cache.verified('h1', record('k1'))
    advance(4_999)
    expect(cache.get('h1')?.id).toBe('k1')
    advance(1)
    expect(cache.get('h1')).toBeUndefined()
  })

  it('asks for a last_used_at write once a minute per key, also when it does not cache', () => {
    for (const ttl of [0, 5_000]) {
      const { cache, advance } = clocked(ttl)
      expect(cache.verified('h1', record('k1'))).toBe(true)
      advance(30_000)
      expect(cache.verified('h1', record('k1'))).toBe(false)
      advance(30_000)
      expect(cache.verified('h1', record('k1'))).toBe(true)
      if (ttl === 0) expect(cache.get('h1')).toBeUndefined()
    }
  })

  it('forgets a revoked key at once, and only that key', () => {
    const { cache } = clocked(5_000)
    cache.verified('h1', record('k1'))
    cache.verified('h2', record('k2'))
    cache.forget('k1')
    expect(cache.get('h1')).toBeUndefined()
    expect(cache.get('h2')?.id).toBe('k2')
  })

  it('stays bounded', () => {
    const { cache } = clocked(5_000, 2)
    cache.verified('h1', record('k1'))
    cache.verified('h2', record('k2'))
    cache.verified('h3', record('k3'))
    expect(cache.get('h3')?.id).toBe('k3')
    expect([cache.get('h1'), cache.get('h2')].filter(Boolean)).toHaveLength(0)
  })
})
