import type { Readable } from 'node:stream'
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { diagnoseS3Error } from './diagnostics.js'
import type { RemoteFile } from '../../connectors/remote-file.js'
import type { Transport } from '../../connectors/transport.js'
import { readHead } from '../../connectors/read-head.js'

export interface S3Location { bucket: string, prefix: string, region: string, endpoint?: string }

/**
 * The S3 transport: lists, opens and puts bytes, nothing else (parsing is the pipeline's, state is
 * the ledger's). Every SDK failure leaves as an AppError from diagnoseS3Error.
 */
export class S3Transport implements Transport {
  constructor (private readonly client: S3Client, private readonly location: S3Location, private readonly accessKeyId?: string) {}

  private diagnose (err: unknown, operation: string, key?: string) {
    return diagnoseS3Error(err, { ...this.location, operation, key, accessKeyId: this.accessKeyId })
  }

  /** ListObjectsV2 MaxKeys=1: the save-time validation ping (needs s3:ListBucket, writes nothing). */
  async ping (): Promise<void> {
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.location.prefix, MaxKeys: 1 }))
    } catch (err) {
      throw this.diagnose(err, 'ListObjectsV2')
    }
  }

  /** Every object under the prefix, one page (≤ 1000) at a time, following continuation tokens. */
  async * list (signal?: AbortSignal): AsyncGenerator<RemoteFile[]> {
    let token: string | undefined
    do {
      let res
      try {
        const command = new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.location.prefix, ContinuationToken: token })
        res = await this.client.send(command, { abortSignal: signal })
      } catch (err) {
        throw this.diagnose(err, 'ListObjectsV2')
      }
      yield (res.Contents ?? []).filter(o => o.Key !== undefined).map(o => ({
        key: o.Key!,
        etag: o.ETag ?? '',
        size: o.Size ?? 0,
        lastModified: o.LastModified ?? null,
      }))
      token = res.IsTruncated ? res.NextContinuationToken : undefined
    } while (token)
  }

  /**
   * Streams one object. `If-Match` pins the version that was listed: if the key was overwritten
   * since, S3 answers 412 and the new version is left for the next pull (under its own ETag).
   */
  async open (file: RemoteFile, signal?: AbortSignal): Promise<Readable> {
    try {
      const command = new GetObjectCommand({ Bucket: this.location.bucket, Key: file.key, ...(file.etag ? { IfMatch: file.etag } : {}) })
      const res = await this.client.send(command, { abortSignal: signal })
      return res.Body as Readable
    } catch (err) {
      throw this.diagnose(err, 'GetObject', file.key)
    }
  }

  /** The first `bytes` of an object (Range GET): all the test endpoint downloads. */
  async head (file: RemoteFile, bytes: number): Promise<Buffer> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: file.key, Range: `bytes=0-${bytes - 1}` }))
      return await readHead(res.Body as Readable, bytes)
    } catch (err) {
      throw this.diagnose(err, 'GetObject', file.key)
    }
  }

  /** Uploads a stream (multipart above 5 MiB, memory bounded by queueSize × partSize). */
  async put (key: string, body: Readable, contentType: string): Promise<{ etag: string | null }> {
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.location.bucket, Key: key, Body: body, ContentType: contentType },
        queueSize: 2,
        partSize: 8 * 1024 * 1024,
        leavePartsOnError: false,
      })
      const res = await upload.done()
      return { etag: (res as { ETag?: string }).ETag ?? null }
    } catch (err) {
      throw this.diagnose(err, 'PutObject', key)
    }
  }
}
