import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'

/**
 * An in-process s3rver (S3-compatible fake) on 127.0.0.1 with a throw-away directory.
 *
 * s3rver checks the access key id (anything but "S3RVER" → InvalidAccessKeyId) and answers
 * NoSuchBucket/NoSuchKey like S3, but it does not verify signatures and cannot produce
 * AWS-only answers (301 region redirects, SlowDown, AccessDenied from IAM …).
 *
 * Pagination caveat: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
 * OpenSSL 3 only offers through its legacy provider. Listings of more than 1000 keys (or
 * MaxKeys < the key count with a follow-up page) therefore only work when the test process
 * runs with `node --openssl-legacy-provider` (e.g. NODE_OPTIONS=--openssl-legacy-provider);
 * otherwise the first page works and the continuation request fails. A child-process variant
 * started with that flag can be added when a test needs it.
 */

interface S3rverInstance {
  run (): Promise<{ address: string, port: number }>
  close (): Promise<void>
  httpServer?: import('node:http').Server
}
type S3rverConstructor = new (options: {
  port: number
  address: string
  silent: boolean
  directory: string
  configureBuckets?: Array<{ name: string, configs?: Array<string | Buffer> }>
  resetOnClose?: boolean
}) => S3rverInstance

const require = createRequire(import.meta.url)
// s3rver ships no types; its constructor shape is declared above
const S3rver = require('s3rver') as S3rverConstructor

export interface S3rverHandle {
  /** http://127.0.0.1:<port> */
  endpoint: string
  port: number
  region: 'us-east-1'
  accessKeyId: 'S3RVER'
  secretAccessKey: 'S3RVER'
  /** a plain, unguarded client for test setup (creating buckets, uploading fixtures) */
  client (): S3Client
  createBucket (name: string): Promise<void>
  /** HTTP requests s3rver has received so far (to prove a refused client never reached it) */
  requestCount (): number
  close (): Promise<void>
}

export async function startS3rver (options: { buckets?: string[] } = {}): Promise<S3rverHandle> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-s3rver-'))
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map(name => ({ name })),
  })
  const address = await server.run()
  let requests = 0
  server.httpServer?.on('request', () => { requests++ })
  const endpoint = `http://127.0.0.1:${address.port}`
  const clients: S3Client[] = []

  const client = (): S3Client => {
    const c = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    })
    clients.push(c)
    return c
  }

  return {
    endpoint,
    port: address.port,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    client,
    async createBucket (name: string) {
      await client().send(new CreateBucketCommand({ Bucket: name }))
    },
    requestCount: () => requests,
    async close () {
      for (const c of clients) c.destroy()
      await server.close()
      await fs.rm(directory, { recursive: true, force: true })
    },
  }
}
