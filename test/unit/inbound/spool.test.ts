import { spawnSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { AppError } from '../../../src/errors.js'
import { processTempDir, spoolBody, sweepTempDirs } from '../../../src/inbound/spool.js'
import { createLogger } from '../../../src/log.js'

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-spool-test-'))
const dir = processTempDir(dataDir)
afterAll(() => fs.rm(dataDir, { recursive: true, force: true }))
const options = { dir, idleTimeoutMs: 60_000 }

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try { await p } catch (err) { return err instanceof AppError ? err.code : String(err) }
  return 'resolved'
}

describe('spoolBody', () => {
  it('writes the body to a private temp file, hands every chunk on, and keeps small bodies', async () => {
    const seen: Buffer[] = []
    const spooled = await spoolBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]),
      { ...options, maxBytes: 10, onChunk: c => seen.push(c), toFile: true, keepUpTo: 100 })
    try {
      expect(spooled.bytes).toBe(4)
      expect(Buffer.concat(seen).toString()).toBe('abcd')
      expect(spooled.kept?.toString()).toBe('abcd')
      expect(await fs.readFile(spooled.path!, 'utf8')).toBe('abcd')
      expect((await fs.stat(spooled.path!)).mode & 0o777).toBe(0o600)
      // under the data directory, in this process's own private directory
      expect(path.dirname(spooled.path!)).toBe(path.join(dataDir, 'tmp', `${process.pid}@${os.hostname()}`))
      expect((await fs.stat(dir)).mode & 0o777).toBe(0o700)
    } finally {
      await spooled.remove()
    }
    await expect(fs.stat(spooled.path!)).rejects.toThrow(/ENOENT/)
  })

  it('keeps nothing in memory past keepUpTo, and writes no file when told not to', async () => {
    const spooled = await spoolBody(Readable.from([Buffer.alloc(60), Buffer.alloc(60)]),
      { ...options, maxBytes: 1000, onChunk: () => {}, toFile: false, keepUpTo: 100 })
    expect(spooled).toMatchObject({ path: null, bytes: 120, kept: null })
  })

  it('refuses with 413 as soon as the limit is crossed, removes the file and leaves the stream open', async () => {
    const body = new PassThrough()
    let fed = 0
    const feed = setInterval(() => { body.write(Buffer.alloc(1000)); fed++ }, 1)
    try {
      expect(await codeOf(spoolBody(body, { ...options, maxBytes: 5500, onChunk: () => {}, toFile: true, keepUpTo: 0 }))).toBe('PAYLOAD_TOO_LARGE')
    } finally {
      clearInterval(feed)
    }
    expect(fed).toBeGreaterThanOrEqual(6)
    expect(body.destroyed).toBe(false)
    expect(body.isPaused()).toBe(true)
    expect(await fs.readdir(dir)).toEqual([])
  })

  it('gives up on a body that stops arriving (408) and on one whose connection breaks', async () => {
    const stalled = new PassThrough()
    stalled.write('partial')
    const stalledSpool = spoolBody(stalled, { ...options, maxBytes: 100, onChunk: () => {}, toFile: true, keepUpTo: 0, idleTimeoutMs: 50 })
    expect(await codeOf(stalledSpool)).toBe('REQUEST_TIMEOUT')

    const broken = new PassThrough()
    const result = spoolBody(broken, { ...options, maxBytes: 100, onChunk: () => {}, toFile: true, keepUpTo: 0 })
    broken.write('partial')
    broken.destroy(new Error('ECONNRESET'))
    expect(await codeOf(result)).toBe('VALIDATION_FAILED')
    expect(await fs.readdir(dir)).toEqual([])
  })
})

describe('sweepTempDirs', () => {
  it('removes the temp directories of this host\'s stopped processes and leaves live and other hosts\' ones', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-sweep-test-'))
    try {
      // a pid that existed and is gone: a child that has exited (kill -9 leaves its files like this)
      const dead = spawnSync(process.execPath, ['-e', '']).pid!
      const host = os.hostname()
      const dirs = [`${dead}@${host}`, `${process.pid}@${host}`, `${process.ppid}@${host}`, `${dead}@another-host`]
      for (const d of dirs) {
        await fs.mkdir(path.join(root, 'tmp', d), { recursive: true })
        await fs.writeFile(path.join(root, 'tmp', d, 'ferry-spool-left'), 'x')
      }
      await fs.writeFile(path.join(root, 'tmp', 'not-ours.txt'), 'x')
      const removed = await sweepTempDirs(root, createLogger({ level: 'silent' }))
      expect(removed.sort()).toEqual([`${dead}@${host}`, `${process.pid}@${host}`].sort())
      expect((await fs.readdir(path.join(root, 'tmp'))).sort()).toEqual([`${process.ppid}@${host}`, `${dead}@another-host`, 'not-ours.txt'].sort())
      // a runtime started again in this process sweeps its own directory, and spooling still works after it
      const tiny = { ...options, dir: processTempDir(root), maxBytes: 10, onChunk: () => {}, toFile: true, keepUpTo: 0 }
      const before = await spoolBody(Readable.from([Buffer.from('a')]), tiny)
      await before.remove()
      expect(await sweepTempDirs(root, createLogger({ level: 'silent' }))).toEqual([`${process.pid}@${host}`])
      const after = await spoolBody(Readable.from([Buffer.from('b')]), tiny)
      expect(await fs.readFile(after.path!, 'utf8')).toBe('b')
      await after.remove()
      // no temp directory at all is fine
      expect(await sweepTempDirs(path.join(root, 'missing'), createLogger({ level: 'silent' }))).toEqual([])
    } finally {
      await fs.rm(root, { recursive: true, force: true })
    }
  })
})
