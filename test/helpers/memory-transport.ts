import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import type { RemoteFile } from '../../src/connectors/remote-file.js'
import type { Transport } from '../../src/connectors/transport.js'
import { AppError } from '../../src/errors.js'

/**
 * A Transport over a Map, for unit tests of code written against the interface (the pull's file
 * selection, the Test's file checks, the preview) and as the reference the transport contract
 * (test/helpers/transport-contract.ts) is checked on. Files are listed in key order, `pageSize` at
 * a time; the etag is the MD5 of the bytes, as S3 gives it for a single-part object.
 */
export class MemoryTransport implements Transport {
  readonly files = new Map<string, { body: Buffer, lastModified: Date }>()
  /** set to make ping and list fail the way an unreachable target does */
  failWith: AppError | null = null

  constructor (private readonly pageSize = 1000) {}

  async ping (): Promise<void> {
    if (this.failWith) throw this.failWith
  }

  async * list (): AsyncGenerator<RemoteFile[]> {
    const keys = [...this.files.keys()].sort()
    for (let i = 0; i === 0 || i < keys.length; i += this.pageSize) {
      if (this.failWith) throw this.failWith
      yield keys.slice(i, i + this.pageSize).map(key => this.describe(key))
    }
  }

  async open (file: RemoteFile): Promise<Readable> {
    return Readable.from([this.current(file)])
  }

  async head (file: RemoteFile, bytes: number): Promise<Buffer> {
    return this.current(file).subarray(0, bytes)
  }

  async put (key: string, body: Readable, _contentType: string): Promise<{ etag: string | null }> {
    const chunks: Buffer[] = []
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Buffer))
    this.files.set(key, { body: Buffer.concat(chunks), lastModified: new Date() })
    return { etag: this.describe(key).etag }
  }

  private describe (key: string): RemoteFile {
    const { body, lastModified } = this.files.get(key)!
    return { key, etag: `"${createHash('md5').update(body).digest('hex')}"`, size: body.length, lastModified }
  }

  /** The listed version, or the failure a store gives when the file changed or went since it was listed. */
  private current (file: RemoteFile): Buffer {
    const stored = this.files.get(file.key)
    if (!stored || (file.etag && this.describe(file.key).etag !== file.etag)) {
      throw new AppError('S3_CONFIG', `The file ${file.key} changed or was removed since it was listed.`)
    }
    return stored.body
  }
}
