import { ListObjectsV2Command, S3ServiceException } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Client } from '../../../src/kinds/s3/client.js'
import { diagnoseS3Error, type S3DiagnosisContext } from '../../../src/kinds/s3/diagnostics.js'
import { AddressPolicy } from '../../../src/net/address-policy.js'
import { AppError } from '../../../src/errors.js'
import { startS3rver, type S3rverHandle } from '../../helpers/s3.js'

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY'
const BODY = '<Error><Code>X</Code><StringToSign>AWS4-HMAC-SHA256 canary-body</StringToSign></Error>'

const ctx: S3DiagnosisContext = {
  bucket: 'acme-inventory', region: 'us-east-1', prefix: 'daily/', operation: 'ListObjectsV2', accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
}

/**
 * An SDK-shaped service error. AWS-only answers (SignatureDoesNotMatch, AccessDenied, 301
 * PermanentRedirect, SlowDown, …) are FAKED here: s3rver cannot produce them (it checks the
 * access key id but not signatures, and has no IAM, regions or throttling).
 */
function sdkError (name: string, status: number, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): S3ServiceException {
  const err = new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ123', attempts: 1, totalRetryDelay: 0 },
    message: `${name}: secret ${SECRET} body ${BODY}`,
  })
  Object.assign(err, { Code: name, $response: { statusCode: status, headers, body: BODY } }, extra)
  return err
}

function expectSafe (err: AppError): void {
  expect(err.message).not.toContain(SECRET)
  expect(err.message).not.toContain('canary-body')
  expect(err.message).not.toContain('AKIAIOSFODNN7EXAMPLE')
  expect(JSON.stringify(err.details)).not.toContain(SECRET)
  expect(JSON.stringify(err.details)).not.toContain('canary-body')
}

describe('diagnoseS3Error with real s3rver errors', () => {
  let s3: S3rverHandle
  beforeAll(async () => { s3 = await startS3rver({ buckets: ['present'] }) })
  afterAll(() => s3.close())

  const client = (accessKeyId = 'S3RVER', policy = new AddressPolicy(['127.0.0.0/8'])) => createS3Client({
    region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, policy, timeoutMs: 2000, maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey: SECRET },
  })

  it('NoSuchBucket → no_such_bucket (S3_CONFIG)', async () => {
    const c = client()
    const raw = await c.send(new ListObjectsV2Command({ Bucket: 'missing', MaxKeys: 1 })).catch(e => e)
    c.destroy()
    const err = diagnoseS3Error(raw, { bucket: 'missing', region: 'us-east-1', endpoint: s3.endpoint })
    expect(err).toMatchObject({
      code: 'S3_CONFIG', failureType: 'config', details: { reason: 'no_such_bucket', awsCode: 'NoSuchBucket', httpStatus: 404, endpoint: s3.endpoint },
    })
    expect(err.message).toBe(`Bucket "missing" does not exist at the S3 endpoint ${s3.endpoint} (region us-east-1). Check the bucket name.`)
    expectSafe(err)
  })

  it('InvalidAccessKeyId → unknown_key_id (S3_CONFIG), key shown by its last four characters only', async () => {
    const c = client('AKIAIOSFODNN7EXAMPLE')
    const raw = await c.send(new ListObjectsV2Command({ Bucket: 'present', MaxKeys: 1 })).catch(e => e)
    c.destroy()
    const err = diagnoseS3Error(raw, { ...ctx, bucket: 'present', endpoint: s3.endpoint })
    expect(err).toMatchObject({ code: 'S3_CONFIG', details: { reason: 'unknown_key_id', awsCode: 'InvalidAccessKeyId', httpStatus: 403 } })
    expect(err.message).toMatch(/does not recognise the access key id \(ending in MPLE\)/)
    expectSafe(err)
  })

  it('a refused endpoint (guard) → endpoint_refused (S3_CONFIG)', async () => {
    const c = createS3Client({
      region: 'us-east-1', endpoint: `http://localhost:${s3.port}`, forcePathStyle: true, policy: new AddressPolicy([]), timeoutMs: 2000,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: SECRET },
    })
    const raw = await c.send(new ListObjectsV2Command({ Bucket: 'present', MaxKeys: 1 })).catch(e => e)
    c.destroy()
    const err = diagnoseS3Error(raw, { bucket: 'present', region: 'us-east-1', endpoint: `http://localhost:${s3.port}` })
    expect(err).toMatchObject({ code: 'S3_CONFIG', details: { reason: 'endpoint_refused', addressClass: 'loopback' } })
    expect(err.message).toMatch(/resolves to a loopback address/)
  })

  it('a closed port → endpoint_refused (ECONNREFUSED)', async () => {
    const closed = await startS3rver()
    const endpoint = closed.endpoint
    await closed.close()
    const c = createS3Client({
      region: 'us-east-1', endpoint, forcePathStyle: true, policy: new AddressPolicy(['127.0.0.0/8']), timeoutMs: 2000, maxAttempts: 1,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: SECRET },
    })
    const raw = await c.send(new ListObjectsV2Command({ Bucket: 'present', MaxKeys: 1 })).catch(e => e)
    c.destroy()
    const err = diagnoseS3Error(raw, { bucket: 'present', region: 'us-east-1', endpoint })
    expect(err).toMatchObject({ code: 'S3_CONFIG', details: { reason: 'endpoint_refused', networkCode: 'ECONNREFUSED' } })
    expect(err.message).toBe(`The S3 endpoint ${endpoint} refused the connection. Check the endpoint URL and port.`)
  })
})

describe('diagnoseS3Error with faked AWS errors (s3rver cannot produce these)', () => {
  it.each([
    ['SignatureDoesNotMatch', 403, 'signature_mismatch', 'S3_CONFIG'],
    ['AccessDenied', 403, 'access_denied', 'S3_CONFIG'],
    ['ExpiredToken', 400, 'expired_token', 'S3_CONFIG'],
    ['NoSuchKey', 404, 'no_such_key', 'S3_CONFIG'],
    ['PreconditionFailed', 412, 'object_changed', 'S3_ERROR'],
    ['IllegalLocationConstraintException', 400, 'wrong_region', 'S3_CONFIG'],
    ['SlowDown', 503, 'throttled', 'S3_ERROR'],
    ['ServiceUnavailable', 503, 'throttled', 'S3_ERROR'],
    ['InternalError', 500, 'server_error', 'S3_ERROR'],
    ['RequestTimeout', 400, 'timeout', 'S3_ERROR'],
    ['InvalidBucketName', 400, 'request_rejected', 'S3_CONFIG'],
    ['Unknown', 404, 'no_such_bucket', 'S3_CONFIG'],
    ['Unknown', 403, 'access_denied', 'S3_CONFIG'],
  ])('%s (HTTP %i) → %s / %s', (name, status, reason, code) => {
    const err = diagnoseS3Error(sdkError(name, status), ctx)
    expect(err).toBeInstanceOf(AppError)
    expect(err).toMatchObject({ code, details: { reason, httpStatus: status, bucket: 'acme-inventory', region: 'us-east-1', requestId: 'REQ123' } })
    expect(err.retryable).toBe(code === 'S3_ERROR')
    expectSafe(err)
  })

  it('access_denied names the permission for the operation', () => {
    expect(diagnoseS3Error(sdkError('AccessDenied', 403), ctx).message).toBe(
      'The credentials were accepted, but they may not access bucket "acme-inventory". ' +
        'Grant s3:ListBucket on arn:aws:s3:::acme-inventory to this key (or its role) and check the bucket policy.')
    const get = diagnoseS3Error(sdkError('AccessDenied', 403), { ...ctx, operation: 'GetObject', key: 'daily/a.csv' })
    expect(get).toMatchObject({ details: { permission: 's3:GetObject' } })
    expect(get.message).toMatch(/Grant s3:GetObject on arn:aws:s3:::acme-inventory\/daily\/a.csv/)
  })

  it('301 PermanentRedirect → wrong_region with the region from x-amz-bucket-region', () => {
    const err = diagnoseS3Error(sdkError('PermanentRedirect', 301, {}, { 'x-amz-bucket-region': 'eu-central-1' }), ctx)
    expect(err).toMatchObject({ code: 'S3_CONFIG', details: { reason: 'wrong_region', expectedRegion: 'eu-central-1' } })
    expect(err.message).toBe('Bucket "acme-inventory" is in region eu-central-1, but the source is configured for us-east-1. Set the region to "eu-central-1".')
  })

  it('a bare 301 (HEAD, no body) still means wrong_region', () => {
    expect(diagnoseS3Error(sdkError('301', 301), ctx)).toMatchObject({ details: { reason: 'wrong_region' } })
  })

  it('AuthorizationHeaderMalformed → wrong_region with the region S3 expects', () => {
    const err = diagnoseS3Error(sdkError('AuthorizationHeaderMalformed', 400, { Region: 'ap-southeast-2' }), ctx)
    expect(err).toMatchObject({ details: { reason: 'wrong_region', expectedRegion: 'ap-southeast-2' } })
    const noRegion = diagnoseS3Error(sdkError('AuthorizationHeaderMalformed', 400), ctx)
    expect(noRegion.message).toMatch(/is not in region us-east-1/)
  })

  it('network-level errors', () => {
    const timeout = diagnoseS3Error(Object.assign(new Error('socket hang'), { name: 'TimeoutError', code: 'ETIMEDOUT' }), ctx)
    expect(timeout).toMatchObject({ code: 'S3_ERROR', details: { reason: 'timeout' } })
    const dns = diagnoseS3Error(Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }), { ...ctx, endpoint: 'https://minio.example.com' })
    expect(dns).toMatchObject({ code: 'S3_ERROR', details: { reason: 'endpoint_unreachable' } })
    expect(dns.message).toMatch(/the host name does not resolve/)
    const refused = diagnoseS3Error(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), ctx)
    expect(refused).toMatchObject({ code: 'S3_CONFIG', details: { reason: 'endpoint_refused' } })
    const throttled = diagnoseS3Error(sdkError('TooManyRequestsException', 429), ctx)
    expect(throttled).toMatchObject({ code: 'S3_ERROR', details: { reason: 'throttled' } })
  })

  it('guard errors', () => {
    const notAllowed = new AppError('TARGET_NOT_ALLOWED', '"s3.internal" resolves to a private-network address (10.0.0.5), which is not allowed', {
      details: { addressClass: 'private' },
    })
    expect(diagnoseS3Error(notAllowed, { ...ctx, endpoint: 'https://s3.internal' })).toMatchObject({
      code: 'S3_CONFIG', details: { reason: 'endpoint_refused', addressClass: 'private' },
    })
    expect(diagnoseS3Error(new AppError('TARGET_TIMEOUT'), ctx)).toMatchObject({ code: 'S3_ERROR', details: { reason: 'timeout' } })
  })

  it('an already diagnosed error is returned unchanged', () => {
    const once = diagnoseS3Error(sdkError('NoSuchBucket', 404), ctx)
    expect(diagnoseS3Error(once, ctx)).toBe(once)
  })

  it('does not echo odd "codes" that are really free text', () => {
    const err = diagnoseS3Error(sdkError(`bad ${SECRET}`, 400), ctx)
    expect(err.details?.awsCode).toBeUndefined()
    expectSafe(err)
  })

  it('endpoint user-info never reaches the message', () => {
    const err = diagnoseS3Error(sdkError('InternalError', 500), { ...ctx, endpoint: `https://user:${encodeURIComponent(SECRET)}@minio.example.com/?token=x` })
    expect(err.message).toContain('https://minio.example.com')
    expect(err.message).not.toContain('user:')
    expectSafe(err)
  })
})
