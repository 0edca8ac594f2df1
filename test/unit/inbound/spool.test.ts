import fs from 'node:fs/promises'
import os from 'node:os'
import { PassThrough, Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import { spoolBody } from '../../../src/inbound/spool.js'

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try { await p } catch (err) { return err instanceof AppError ? err.code : String(err) }
  return 'resolved'
}

describe('spoolBody', () => {
  it('writes the body to a private temp file, hands every chunk on, and keeps small bodies', async () => {
    const seen: Buffer[] = []
    const spooled = await spoolBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), { maxBytes: 10, onChunk: c => seen.push(c), toFile: true, keepUpTo: 100 })
    try {
      expect(spooled.bytes).toBe(4)
      expect(Buffer.concat(seen).toString()).toBe('abcd')
      expect(spooled.kept?.toString()).toBe('abcd')
      expect(await fs.readFile(spooled.path!, 'utf8')).toBe('abcd')
      expect((await fs.stat(spooled.path!)).mode & 0o777).toBe(0o600)
    } finally {
      await spooled.remove()
    }
    await expect(fs.stat(spooled.path!)).rejects.toThrow(/ENOENT/)
  })

  it('keeps nothing in memory past keepUpTo, and writes no file when told not to', async () => {
    const spooled = await spoolBody(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]), { maxBytes: 1000, onChunk: () => {}, toFile: false, keepUpTo: 100 })
    expect(spooled).toMatchObject({ path: null, bytes: 120, kept: null })
  })

  it('refuses with 413 as soon as the limit is crossed, removes the file and leaves the stream open', async () => {
    const body = new PassThrough()
    let fed = 0
    const feed = setInterval(() => { body.write(Buffer.alloc(1000)); fed++ }, 1)
    const before = new Set(await fs.readdir(os.tmpdir()))
    try {
      expect(await codeOf(spoolBody(body, { maxBytes: 5500, onChunk: () => {}, toFile: true, keepUpTo: 0 }))).toBe('PAYLOAD_TOO_LARGE')
    } finally {
      clearInterval(feed)
    }
    expect(fed).toBeGreaterThanOrEqual(6)
    expect(body.destroyed).toBe(false)
    expect(body.isPaused()).toBe(true)
    const after = (await fs.readdir(os.tmpdir())).filter(n => n.startsWith('ferry-inbound-') && !before.has(n))
    expect(after).toEqual([])
  })

  it('gives up on a body that stops arriving (408) and on one whose connection breaks', async () => {
    const stalled = new PassThrough()
    stalled.write('partial')
    expect(await codeOf(spoolBody(stalled, { maxBytes: 100, onChunk: () => {}, toFile: true, keepUpTo: 0, idleTimeoutMs: 50 }))).toBe('REQUEST_TIMEOUT')

    const broken = new PassThrough()
    const result = spoolBody(broken, { maxBytes: 100, onChunk: () => {}, toFile: true, keepUpTo: 0 })
    broken.write('partial')
    broken.destroy(new Error('ECONNRESET'))
    expect(await codeOf(result)).toBe('VALIDATION_FAILED')
  })
})
