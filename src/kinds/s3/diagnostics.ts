import { AppError, isAppError } from '../../errors.js'
import { safeEndpoint } from '../../net/guarded-agents.js'

/**
 * Turns whatever an S3 call threw (SDK service errors, network errors, the guard's AppErrors)
 * into an AppError a person can act on.
 *
 * details.reason                       code        who acts
 *   unknown_key_id                     S3_CONFIG   InvalidAccessKeyId
 *   signature_mismatch                 S3_CONFIG   SignatureDoesNotMatch (wrong secret access key)
 *   expired_token                      S3_CONFIG   ExpiredToken / InvalidToken (session credentials)
 *   access_denied                      S3_CONFIG   AccessDenied / any other 403
 *   no_such_bucket                     S3_CONFIG   NoSuchBucket / 404 on a bucket operation
 *   no_such_key                        S3_CONFIG   NoSuchKey (object deleted between list and get)
 *   object_changed                     S3_ERROR    412 PreconditionFailed: the object was overwritten after it was
 *                                                  listed (the pull's GetObject carries If-Match on the listed ETag)
 *   wrong_region                       S3_CONFIG   301 PermanentRedirect, AuthorizationHeaderMalformed,
 *                                                  IllegalLocationConstraintException (+ details.expectedRegion)
 *   endpoint_refused                   S3_CONFIG   the guard refused the endpoint's address, or ECONNREFUSED
 *   request_rejected                   S3_CONFIG   any other 4xx (details.awsCode names it)
 *   timeout                            S3_ERROR    connect/socket/request timeouts, S3 RequestTimeout
 *   throttled                          S3_ERROR    SlowDown / 503 / 429 / throttling codes
 *   server_error                       S3_ERROR    other 5xx
 *   endpoint_unreachable               S3_ERROR    DNS failure, reset, no route
 *   unknown                            S3_ERROR    anything else
 *
 * Messages are composed here from the context and the error's code/status only: never the
 * SDK's message, the response body, or any credential (the access key id, when given, is shown
 * as its last four characters).
 */

export type S3DiagnosisReason =
  | 'unknown_key_id'
  | 'signature_mismatch'
  | 'expired_token'
  | 'access_denied'
  | 'no_such_bucket'
  | 'no_such_key'
  | 'object_changed'
  | 'wrong_region'
  | 'endpoint_refused'
  | 'request_rejected'
  | 'timeout'
  | 'throttled'
  | 'server_error'
  | 'endpoint_unreachable'
  | 'unknown'

const TRANSIENT_REASONS: ReadonlySet<S3DiagnosisReason> = new Set(['object_changed', 'timeout', 'throttled', 'server_error', 'endpoint_unreachable', 'unknown'])

export interface S3DiagnosisContext {
  bucket: string
  region: string
  endpoint?: string
  prefix?: string
  /** object key, for object operations */
  key?: string
  /** SDK command name (ListObjectsV2, GetObject, PutObject, …) for the permission hint */
  operation?: string
  /** shown as its last four characters only */
  accessKeyId?: string
}

const THROTTLING_CODES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'BandwidthLimitExceeded', 'RequestThrottled'
])
const TIMEOUT_CODES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'])
const UNREACHABLE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED'])
const WRONG_REGION_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'TemporaryRedirect', 'Redirect'])

interface SdkLikeError {
  name?: unknown
  code?: unknown
  Code?: unknown
  Region?: unknown
  BucketRegion?: unknown
  message?: unknown
  errors?: unknown
  cause?: unknown
  $metadata?: { httpStatusCode?: number, requestId?: string }
  $response?: { statusCode?: number, headers?: Record<string, string | undefined> }
}

function asObject (err: unknown): SdkLikeError {
  return err !== null && typeof err === 'object' ? err as SdkLikeError : {}
}

/** A code that is safe to show: an identifier, not free text. */
function safeCode (value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z][A-Za-z0-9._-]{0,63}$/.test(value) ? value : undefined
}

/** Node / network error code, looking into AggregateError and `cause` chains. */
function networkCode (err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== 'object' || depth > 5) return undefined
  const e = err as SdkLikeError
  if (typeof e.code === 'string' && /^E[A-Z_]+$|^UND_ERR_/.test(e.code)) return e.code
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    const inner = networkCode(e.errors[0], depth + 1)
    if (inner !== undefined) return inner
  }
  return networkCode(e.cause, depth + 1)
}

function findAppError (err: unknown, depth = 0): AppError | undefined {
  if (isAppError(err)) return err
  if (err === null || typeof err !== 'object' || depth > 5) return undefined
  return findAppError((err as SdkLikeError).cause, depth + 1)
}

function regionFrom (e: SdkLikeError): string | undefined {
  const isRegion = (v: unknown): v is string => typeof v === 'string' && /^[a-z]{2}(-[a-z0-9]+){1,4}$/.test(v)
  const header = e.$response?.headers?.['x-amz-bucket-region']
  if (isRegion(header)) return header
  if (isRegion(e.Region)) return e.Region
  if (isRegion(e.BucketRegion)) return e.BucketRegion
  // AuthorizationHeaderMalformed: "the region 'us-east-1' is wrong; expecting 'eu-west-1'"
  const m = typeof e.message === 'string' ? /expecting '([a-z0-9-]+)'/.exec(e.message) : null
  return m !== null && isRegion(m[1]) ? m[1] : undefined
}

function permissionFor (operation: string | undefined): string {
  switch (operation) {
    case 'GetObject': case 'HeadObject': return 's3:GetObject'
    case 'PutObject': case 'CreateMultipartUpload': case 'UploadPart': case 'CompleteMultipartUpload': return 's3:PutObject'
    case 'AbortMultipartUpload': return 's3:AbortMultipartUpload'
    default: return 's3:ListBucket'
  }
}

export function diagnoseS3Error (err: unknown, ctx: S3DiagnosisContext): AppError {
  const e = asObject(err)
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode
  const awsCode = safeCode(e.Code) ?? safeCode(e.name)
  const netCode = networkCode(err)
  const guardError = findAppError(err)
  const endpoint = ctx.endpoint !== undefined ? safeEndpoint(ctx.endpoint) : undefined
  const where = endpoint !== undefined ? `the S3 endpoint ${endpoint}` : 'AWS S3'
  const bucket = `"${ctx.bucket}"`
  const keyHint = ctx.accessKeyId !== undefined && ctx.accessKeyId.length >= 4 ? ` (ending in ${ctx.accessKeyId.slice(-4)})` : ''
  const path = ctx.key !== undefined ? `${ctx.bucket}/${ctx.key}` : `${ctx.bucket}/${ctx.prefix ?? ''}`

  const build = (reason: S3DiagnosisReason, message: string, extra: Record<string, unknown> = {}): AppError =>
    new AppError(TRANSIENT_REASONS.has(reason) ? 'S3_ERROR' : 'S3_CONFIG', message, {
      details: {
        reason,
        bucket: ctx.bucket,
        region: ctx.region,
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(awsCode !== undefined && guardError === undefined && netCode === undefined ? { awsCode } : {}),
        ...(status !== undefined ? { httpStatus: status } : {}),
        ...(typeof e.$metadata?.requestId === 'string' ? { requestId: e.$metadata.requestId } : {}),
        ...extra,
      },
      cause: err,
    })

  // already diagnosed
  if (isAppError(err) && (err.code === 'S3_CONFIG' || err.code === 'S3_ERROR')) return err

  // the network guard
  if (guardError !== undefined) {
    if (guardError.code === 'TARGET_NOT_ALLOWED') {
      return build('endpoint_refused', `Ferry may not connect to ${where}: ${guardError.message}. ` +
        'Use a public endpoint, or ask the operator to allow this network (FERRY_ALLOW_PRIVATE_NETWORKS).',
      { addressClass: guardError.details?.addressClass })
    }
    if (guardError.code === 'TARGET_TIMEOUT') {
      return build('timeout', `${capitalise(where)} did not answer in time. This is usually temporary; the request will be retried.`)
    }
    if (guardError.code === 'TARGET_UNREACHABLE') {
      return build('endpoint_unreachable', `${capitalise(where)} could not be reached. Check the endpoint and region; if they are right, this is temporary.`)
    }
  }

  switch (awsCode) {
    case 'InvalidAccessKeyId':
      return build('unknown_key_id', `${capitalise(where)} does not recognise the access key id${keyHint}. ` +
        'Check the access key id in the secret; the key may have been deleted or deactivated, or belong to another account or store.')
    case 'SignatureDoesNotMatch':
      return build('signature_mismatch', `${capitalise(where)} rejected the request signature: ` +
        `the secret access key does not match the access key id${keyHint}. ` +
        'Re-enter the secret access key in the secret (watch for copied spaces).')
    case 'ExpiredToken': case 'InvalidToken': case 'TokenRefreshRequired':
      return build('expired_token', 'The session token in the secret has expired or is not valid. ' +
        'Store fresh temporary credentials, or long-lived access keys.')
    case 'NoSuchBucket':
      return build('no_such_bucket', `Bucket ${bucket} does not exist at ${where} (region ${ctx.region}). Check the bucket name.`)
    case 'NoSuchKey':
      return build('no_such_key', `The object ${path} does not exist (any more) in bucket ${bucket}.`)
    case 'PreconditionFailed':
      return build('object_changed', `The object ${path} was overwritten after it was listed; the new version is taken by the next pull.`)
  }

  if ((awsCode !== undefined && WRONG_REGION_CODES.has(awsCode)) || status === 301 || status === 307) {
    const expected = regionFrom(e)
    const message = expected !== undefined && expected !== ctx.region
      ? `Bucket ${bucket} is in region ${expected}, but the source is configured for ${ctx.region}. Set the region to "${expected}".`
      : `Bucket ${bucket} is not in region ${ctx.region} (or the request was sent to the wrong regional endpoint). Set the bucket's actual region.`
    return build('wrong_region', message, expected !== undefined ? { expectedRegion: expected } : {})
  }

  if (awsCode === 'AccessDenied' || awsCode === 'AllAccessDisabled' || awsCode === 'AccountProblem' || status === 403) {
    const permission = permissionFor(ctx.operation)
    const resource = permission === 's3:ListBucket' ? `arn:aws:s3:::${ctx.bucket}` : `arn:aws:s3:::${path}*`
    const target = ctx.key !== undefined ? `the object ${path}` : `bucket ${bucket}`
    return build('access_denied', `The credentials were accepted, but they may not access ${target}. ` +
      `Grant ${permission} on ${resource} to this key (or its role) and check the bucket policy.`, { permission })
  }

  if ((awsCode !== undefined && THROTTLING_CODES.has(awsCode)) || status === 503 || status === 429) {
    return build('throttled', `${capitalise(where)} is throttling requests (${awsCode === 'SlowDown' || status === 503 ? 'SlowDown' : 'too many requests'}). ` +
      'This is temporary; the request will be retried with back-off.')
  }

  if ((awsCode !== undefined && TIMEOUT_CODES.has(awsCode)) || (netCode !== undefined && TIMEOUT_CODES.has(netCode))) {
    return build('timeout', `${capitalise(where)} did not answer in time. This is usually temporary; the request will be retried.`)
  }

  if (netCode === 'ECONNREFUSED') {
    return build('endpoint_refused', `${capitalise(where)} refused the connection. Check the endpoint URL and port.`, { networkCode: netCode })
  }
  if (netCode !== undefined && UNREACHABLE_CODES.has(netCode)) {
    const unresolved = netCode.startsWith('EAI') || netCode === 'ENOTFOUND' ? ' (the host name does not resolve)' : ''
    return build('endpoint_unreachable', `${capitalise(where)} could not be reached${unresolved}. ` +
      'Check the endpoint and region; if they are right, this is temporary.', { networkCode: netCode })
  }

  if (status === 404) {
    return build('no_such_bucket', `Bucket ${bucket} does not exist at ${where} (region ${ctx.region}). Check the bucket name.`)
  }

  if (status !== undefined && status >= 500) {
    return build('server_error', `${capitalise(where)} answered with a server error (HTTP ${status}${awsCode !== undefined ? `, ${awsCode}` : ''}). ` +
      'This is usually temporary; the request will be retried.')
  }

  if (status !== undefined && status >= 400) {
    const codeHint = awsCode !== undefined ? `, ${awsCode}` : ''
    return build('request_rejected', `${capitalise(where)} rejected the request (HTTP ${status}${codeHint}) for bucket ${bucket}.`)
  }

  return build('unknown', `The request to ${where} failed${awsCode !== undefined && awsCode !== 'Error' ? ` (${awsCode})` : ''}.`)
}

function capitalise (s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
