import type { ApiKeyRecord } from '../db/sql/api-keys.js'

interface Entry { key: ApiKeyRecord, verifiedAt: number, touchedAt: number }

/**
 * API keys this process verified against the database in the last `ttlMs`, by key hash, so a busy
 * client does not cost a lookup per request (bench/findings.md, API benchmark). The price is
 * revocation latency: the process that revokes a key forgets it at once; other API processes keep
 * accepting it for at most `ttlMs` (FERRY_API_KEY_CACHE_SECONDS, 0 = look up every request).
 * Unknown keys are never remembered, so a new key works everywhere at once.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly ttlMs: number, private readonly maxEntries = 10_000, private readonly now: () => number = Date.now) {}

  get (hash: string): ApiKeyRecord | undefined {
    const entry = this.entries.get(hash)
    // an expired entry stays: it still remembers when last_used_at was written
    return entry && entry.verifiedAt > this.now() - this.ttlMs ? entry.key : undefined
  }

  /**
   * Remembers a key just read from the database. Returns whether its `last_used_at` is due a write:
   * the column has minute resolution, so one write a minute per key and process is enough.
   */
  verified (hash: string, key: ApiKeyRecord): boolean {
    const now = this.now()
    const touchedAt = this.entries.get(hash)?.touchedAt ?? 0
    const due = touchedAt <= now - 60_000
    // a bounded map: clearing it only costs each client one lookup
    if (this.entries.size >= this.maxEntries && !this.entries.has(hash)) this.entries.clear()
    this.entries.set(hash, { key, verifiedAt: now, touchedAt: due ? now : touchedAt })
    return due
  }

  /** The key was revoked here: stop accepting it in this process now. */
  forget (keyId: string): void {
    for (const [hash, entry] of this.entries) if (entry.key.id === keyId) this.entries.delete(hash)
  }
}
