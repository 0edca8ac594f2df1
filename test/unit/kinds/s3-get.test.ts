import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { text } from 'node:stream/consumers'
import type { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Client } from '../../../src/kinds/s3/client.js'
import { S3Transport } from '../../../src/kinds/s3/transport.js'
import { AddressPolicy } from '../../../src/net/address-policy.js'

// The pull's GetObject (docs/decisions.md, "The S3 GET path"): it reads the version the listing
// gave, or nothing, and asks for no checksum the SDK would then compute over every body. s3rver
// ignores If-Match, so the store here is a small HTTP server that answers GetObject as S3 does.

const CURRENT = '"e2fc714c4727ee9395f324cd2e7f331f"'
const seen: http.IncomingHttpHeaders[] = []
const store = http.createServer((req, res) => {
  seen.push(req.headers)
  if (req.headers['if-match'] !== undefined && req.headers['if-match'] !== CURRENT) {
    res.writeHead(412, { 'content-type': 'application/xml' })
    res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>' +
      '<Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>')
    return
  }
  res.writeHead(200, { 'content-type': 'text/csv', 'content-length': 13, etag: CURRENT, 'last-modified': new Date().toUTCString() })
  res.end('sku\nA1\nA2\nA3\n')
})

let transport: S3Transport
let client: ReturnType<typeof createS3Client>
beforeAll(async () => {
  await new Promise<void>(resolve => store.listen(0, '127.0.0.1', resolve))
  const endpoint = `http://127.0.0.1:${(store.address() as AddressInfo).port}`
  client = createS3Client({
    region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    policy: new AddressPolicy(['127.0.0.0/8']), timeoutMs: 2000, maxAttempts: 1,
  })
  transport = new S3Transport(client, { bucket: 'inventory', prefix: 'daily/', region: 'us-east-1', endpoint })
})
afterAll(async () => {
  client.destroy()
  await new Promise(resolve => store.close(resolve))
})

describe('the S3 transport\'s GetObject', () => {
  const file = (etag: string) => ({ key: 'daily/a.csv', etag, size: 13, lastModified: new Date() })

  it('reads the listed version, pinned by If-Match, without asking for a checksum', async () => {
    seen.length = 0
    expect(await text(await transport.open(file(CURRENT)) as Readable)).toBe('sku\nA1\nA2\nA3\n')
    expect(seen).toHaveLength(1)
    expect(seen[0]['if-match']).toBe(CURRENT)
    expect(seen[0]).not.toHaveProperty('x-amz-checksum-mode')
  })

  it('reads nothing of an object rewritten since it was listed: the file fails and is not ledgered under the old ETag', async () => {
    seen.length = 0
    const err = await transport.open(file('"0123456789abcdef0123456789abcdef"')).then(() => null, (e: unknown) => e)
    expect(err).toMatchObject({
      code: 'S3_ERROR', failureType: 'transient', details: { reason: 'object_changed', httpStatus: 412 },
      message: 'The object inventory/daily/a.csv was overwritten after it was listed; the new version is taken by the next pull.',
    })
    expect(seen).toHaveLength(1)
  })
})
