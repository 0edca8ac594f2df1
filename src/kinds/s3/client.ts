import { S3Client } from '@aws-sdk/client-s3'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { AppError } from '../../errors.js'
import { AddressPolicy, parseHostLiteral } from '../../net/address-policy.js'
import { createGuardedAgents, safeEndpoint } from '../../net/guarded-agents.js'
import { targetNotAllowed, type Resolver } from '../../net/guarded-lookup.js'

/**
 * S3 clients for customer buckets, on the guarded network path: every connection the SDK opens
 * (to AWS or to a customer's S3-compatible endpoint) is resolved through the guarded lookup and
 * connects to the checked address. Node's net.connect never calls `lookup` for a host that is
 * already an IP address, so the agents also check IP-literal hosts in createConnection.
 *
 * Both agents are passed as instances: NodeHttpHandler then treats them as external agents and
 * uses them even for `Expect: 100-continue` uploads (with option objects it would build a
 * private, unguarded agent for those).
 */

export interface S3Credentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

export interface CreateS3ClientOptions {
  region: string
  /** S3-compatible store (MinIO, R2, …); absent = AWS */
  endpoint?: string
  forcePathStyle?: boolean
  credentials: S3Credentials
  policy: AddressPolicy
  /**
   * connect timeout (capped at 10 s) and socket idle timeout: a connection that sends or
   * receives nothing for this long fails with a TimeoutError (retried by the SDK).
   */
  timeoutMs: number
  /**
   * deadline from sending a request until the response headers arrive, including the upload
   * of the request body. Default: timeoutMs. Raise it for large uploads on slow links.
   */
  requestTimeoutMs?: number
  /** total attempts per operation, first one included (SDK standard retry mode). Default 4 */
  maxAttempts?: number
  /** tests only */
  resolver?: Resolver
}

const MAX_CONNECT_TIMEOUT_MS = 10_000
/**
 * An S3Client on the guarded path. Throws TARGET_NOT_ALLOWED at once when `endpoint` is not an
 * http(s) URL or its host is a refused IP literal; a host name is checked at every connection.
 */
export function createS3Client (options: CreateS3ClientOptions): S3Client {
  const { policy } = options
  if (options.endpoint !== undefined) checkEndpoint(options.endpoint, policy)
  const { httpAgent, httpsAgent } = createGuardedAgents(policy, { resolver: options.resolver })
  const requestHandler = new NodeHttpHandler({
    httpAgent,
    httpsAgent,
    connectionTimeout: Math.min(options.timeoutMs, MAX_CONNECT_TIMEOUT_MS),
    socketTimeout: options.timeoutMs,
    requestTimeout: options.requestTimeoutMs ?? options.timeoutMs,
    throwOnRequestTimeout: true,
  })
  return new S3Client({
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: {
      accessKeyId: options.credentials.accessKeyId,
      secretAccessKey: options.credentials.secretAccessKey,
      ...(options.credentials.sessionToken ? { sessionToken: options.credentials.sessionToken } : {}),
    },
    requestHandler,
    maxAttempts: options.maxAttempts ?? 4,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    followRegionRedirects: false,
  })
}

/** Fast, network-free check of a configured endpoint: an http(s) URL whose host is not a refused IP literal. */
export function checkEndpoint (endpoint: string, policy: AddressPolicy): URL {
  const shown = safeEndpoint(endpoint)
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new AppError('TARGET_NOT_ALLOWED', 'The S3 endpoint is not a valid URL (expected e.g. https://s3.example.com).', {
      details: { reason: 'invalid_url' }
    })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AppError('TARGET_NOT_ALLOWED', `The S3 endpoint must be an http:// or https:// URL, not ${url.protocol}//.`, {
      details: { reason: 'scheme', endpoint: shown }
    })
  }
  if (url.username !== '' || url.password !== '') {
    throw new AppError('TARGET_NOT_ALLOWED', 'The S3 endpoint must not contain a user name or password; credentials belong in the secret.', {
      details: { reason: 'credentials', endpoint: shown }
    })
  }
  const literal = parseHostLiteral(url.hostname)
  if (literal !== null) {
    const decision = policy.check(literal.ip)
    if (!decision.allowed) {
      const err = targetNotAllowed(url.hostname, decision, false)
      throw new AppError('TARGET_NOT_ALLOWED', `The S3 endpoint ${shown} is ${decision.reason ?? 'a disallowed address'}, which is not allowed`, {
        details: { ...err.details, reason: 'address', endpoint: shown },
      })
    }
  }
  return url
}
