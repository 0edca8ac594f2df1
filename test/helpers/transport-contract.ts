import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { RemoteFile } from '../../src/connectors/remote-file.js'
import type { Transport } from '../../src/connectors/transport.js'

/**
 * What the shared pull, push, preview and Test rely on from every kind's Transport
 * (src/connectors/transport.ts). A new kind runs it against its transport on a real server
 * (docs/extending.md): `describeTransport('sftp', run)` where `run(fn)` opens a transport on an
 * empty location, calls `fn` with it and the key prefix of that location (what `put` writes under
 * so that `list` finds it: `prefix/` for S3, the directory for SFTP), and closes it.
 */
export function describeTransport (name: string, run: (fn: (t: Transport, base: string) => Promise<void>) => Promise<void>): void {
  const all = async (t: Transport): Promise<RemoteFile[]> => {
    const files: RemoteFile[] = []
    for await (const page of t.list()) files.push(...page)
    return files
  }
  const text = async (stream: Readable): Promise<string> => {
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
    return Buffer.concat(chunks).toString('utf8')
  }

  describe(`the ${name} transport`, () => {
    it('pings, and lists nothing where nothing was put', async () => {
      await run(async (t, base) => {
        await expect(t.ping()).resolves.toBeUndefined()
        expect(await all(t)).toEqual([])
      })
    })

    it('puts whole files that list with their key, size, etag and time, and open and head their bytes', async () => {
      await run(async (t, base) => {
        const put = await t.put(`${base}a.csv`, Readable.from([Buffer.from('sku,quantity\n'), Buffer.from('A1,3\n')]), 'text/csv')
        await t.put(`${base}b.json`, Readable.from([Buffer.from('[{"sku":"B"}]')]), 'application/json')
        const files = await all(t)
        expect(files.map(f => f.key).sort()).toEqual([`${base}a.csv`, `${base}b.json`])
        const a = files.find(f => f.key.endsWith('a.csv'))!
        expect(a.size).toBe(18)
        expect(a.etag).not.toBe('')
        if (put.etag !== null) expect(a.etag).toBe(put.etag)
        expect(a.lastModified).toBeInstanceOf(Date)
        expect(await text(await t.open(a))).toBe('sku,quantity\nA1,3\n')
        expect((await t.head(a, 3)).toString()).toBe('sku')
        expect((await t.head(a, 1000)).toString()).toBe('sku,quantity\nA1,3\n')
      })
    })

    it('gives a rewritten file a new etag (the ledger takes it again)', async () => {
      await run(async (t, base) => {
        await t.put(`${base}c.csv`, Readable.from([Buffer.from('sku\n1\n')]), 'text/csv')
        const [before] = await all(t)
        await t.put(`${base}c.csv`, Readable.from([Buffer.from('sku\n2\n')]), 'text/csv')
        const [after] = await all(t)
        expect(after.key).toBe(before.key)
        expect(after.etag).not.toBe(before.etag)
      })
    })
  })
}
