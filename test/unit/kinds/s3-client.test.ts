import https from 'node:https'
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Client } from '../../../src/kinds/s3/client.js'
import { createGuardedAgents } from '../../../src/net/guarded-agents.js'
import { AddressPolicy } from '../../../src/net/address-policy.js'
import { startS3rver, type S3rverHandle } from '../../helpers/s3.js'

const strict = new AddressPolicy([])
const local = new AddressPolicy(['127.0.0.0/8'])
const BUCKET = 'inventory'

describe('createS3Client on the guarded path (against s3rver on 127.0.0.1)', () => {
  let s3: S3rverHandle
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [BUCKET] })
    await s3.client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'daily/a.csv', Body: 'sku\n1\n' }))
  })
  afterAll(() => s3.close())

  const options = (policy: AddressPolicy, endpoint: string) => ({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    policy,
    timeoutMs: 2000,
  })

  it('refuses an IP-literal endpoint at construction', () => {
    expect(() => createS3Client(options(strict, s3.endpoint))).toThrow(expect.objectContaining({
      code: 'TARGET_NOT_ALLOWED',
      message: `The S3 endpoint ${s3.endpoint} is a loopback address (127.0.0.1), which is not allowed`,
    }))
    expect(() => createS3Client(options(strict, `http://0x7f000001:${s3.port}`))).toThrow(expect.objectContaining({ code: 'TARGET_NOT_ALLOWED' }))
    expect(() => createS3Client(options(strict, `http://[::ffff:127.0.0.1]:${s3.port}`))).toThrow(expect.objectContaining({ code: 'TARGET_NOT_ALLOWED' }))
    expect(() => createS3Client(options(strict, 'ftp://s3.example.com'))).toThrow(expect.objectContaining({
      code: 'TARGET_NOT_ALLOWED', details: { reason: 'scheme', endpoint: 'ftp://s3.example.com' },
    }))
  })

  it('refuses a host name resolving to loopback at connect time, without retries, and s3rver sees nothing', async () => {
    const before = s3.requestCount()
    const client = createS3Client(options(strict, `http://localhost:${s3.port}`))
    try {
      const started = Date.now()
      const err = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1 })).catch(e => e)
      expect(err).toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
      expect(err.message).toMatch(/^"localhost" resolves to a loopback address/)
      expect(err.$metadata?.attempts ?? 1).toBe(1)
      expect(Date.now() - started).toBeLessThan(1500) // no retry back-off
      expect(s3.requestCount()).toBe(before)
    } finally {
      client.destroy()
    }
  })

  it('uploads with Expect: 100-continue (bodies > 2 MB) go through the guarded agent too', async () => {
    const before = s3.requestCount()
    const client = createS3Client(options(strict, `http://localhost:${s3.port}`))
    try {
      const err = await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Body: Buffer.alloc(3 * 1024 * 1024) })).catch(e => e)
      expect(err).toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
      expect(s3.requestCount()).toBe(before)
    } finally {
      client.destroy()
    }
  })

  it('works with the allow-list (ListObjectsV2 MaxKeys=1, both the literal and the name)', async () => {
    for (const endpoint of [s3.endpoint, `http://localhost:${s3.port}`]) {
      const client = createS3Client(options(local, endpoint))
      try {
        const res = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'daily/', MaxKeys: 1 }))
        expect(res.KeyCount).toBe(1)
        expect(res.Contents?.[0]?.Key).toBe('daily/a.csv')
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Body: Buffer.alloc(3 * 1024 * 1024) }))
      } finally {
        client.destroy()
      }
    }
  })

  it('the https agent checks IP literals too', async () => {
    const { httpsAgent } = createGuardedAgents(strict)
    const err = await new Promise<Error>(resolve => {
      const req = https.request({ host: '127.0.0.1', port: s3.port, agent: httpsAgent }, () => resolve(new Error('connected')))
      req.on('error', resolve)
      req.end()
    })
    expect(err).toMatchObject({ code: 'TARGET_NOT_ALLOWED' })
    httpsAgent.destroy()
  })
})
