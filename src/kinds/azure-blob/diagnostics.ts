import { AppError, isAppError, type ErrorCode } from '../../errors.js'

/**
 * Turns whatever an Azure Blob call threw (the SDK's RestError for an HTTP answer or a network
 * failure, an AbortError for a timeout) into an AppError a person can act on.
 *
 * code                        details.reason        when
 *   AZURE_AUTH_FAILED         auth_failed           403 AuthenticationFailed / AuthorizationFailure / InvalidAuthenticationInfo
 *                                                   (a wrong or rotated account key, an expired or revoked SAS)
 *   AZURE_PERMISSION_DENIED   permission_denied     403 Authorization*Mismatch (a SAS without the permission, service or resource type)
 *   AZURE_CONTAINER_NOT_FOUND container_not_found   404 ContainerNotFound
 *   AZURE_BLOB_CHANGED        blob_changed          412 ConditionNotMet: the blob was overwritten after it was listed
 *   AZURE_CONFIG              blob_not_found        404 BlobNotFound (deleted between list and download)
 *                             not_found             any other 404 (wrong account or endpoint path)
 *                             request_rejected      any other 4xx (details.azureCode names it)
 *   TARGET_NOT_ALLOWED        (the guard's)         the endpoint is or resolves to an address the network policy refuses
 *   AZURE_ERROR               throttled             429, 503 ServerBusy
 *                             server_error          other 5xx
 *                             timeout               no answer within the timeout
 *                             endpoint_unreachable  DNS failure, connection refused/reset, no route
 *                             unknown               anything else
 *
 * Messages are composed from the context and the error's status and code only: never the
 * service's message, a response body, a URL with its query (a SAS travels there) or a key.
 */

export interface AzureDiagnosisContext {
  accountName: string
  container: string
  /** the blob service URL without query (safeEndpoint) */
  endpoint: string
  /** whether the default endpoint was used: a DNS failure then means a wrong account name */
  defaultEndpoint: boolean
  auth: 'key' | 'sas'
  prefix?: string
  /** the blob name, for blob operations */
  blob?: string
  operation: 'list' | 'read' | 'write'
}

interface RestErrorLike {
  name?: unknown
  code?: unknown
  statusCode?: unknown
  message?: unknown
  details?: { errorCode?: unknown }
}

const UNREACHABLE_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED',
  'REQUEST_SEND_ERROR',
])
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'OperationTimedOut'])
const AUTH_CODES = new Set(['AuthenticationFailed', 'AuthorizationFailure', 'InvalidAuthenticationInfo', 'NoAuthenticationInformation'])
const PERMISSION_CODES = new Set([
  'AuthorizationPermissionMismatch', 'AuthorizationResourceTypeMismatch', 'AuthorizationServiceMismatch',
  'AuthorizationProtocolMismatch', 'AuthorizationSourceIPMismatch', 'InsufficientAccountPermissions',
])

/** A code that is safe to show: an identifier, not free text. */
function safeCode (value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z][A-Za-z0-9._-]{0,63}$/.test(value) ? value : undefined
}

const PERMISSION_LETTER: Record<AzureDiagnosisContext['operation'], string> = { list: 'List (l)', read: 'Read (r)', write: 'Write (w) and Create (c)' }

export function diagnoseAzureError (err: unknown, ctx: AzureDiagnosisContext): AppError {
  if (isAppError(err)) return err
  const e: RestErrorLike = err !== null && typeof err === 'object' ? err as RestErrorLike : {}
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined
  const azureCode = safeCode(e.details?.errorCode) ?? (status !== undefined ? safeCode(e.code) : undefined)
  const netCode = status === undefined ? safeCode(e.code) : undefined
  const where = `the Azure endpoint ${ctx.endpoint}`
  const container = `"${ctx.container}"`
  const blob = ctx.blob !== undefined ? `"${ctx.blob}"` : undefined

  const build = (code: ErrorCode, reason: string, message: string): AppError => new AppError(code, message, {
    details: {
      reason,
      account: ctx.accountName,
      container: ctx.container,
      endpoint: ctx.endpoint,
      ...(ctx.blob !== undefined ? { blob: ctx.blob } : {}),
      ...(status !== undefined ? { httpStatus: status } : {}),
      ...(azureCode !== undefined ? { azureCode } : {}),
      ...(netCode !== undefined ? { networkCode: netCode } : {}),
    },
    cause: err,
  })

  // the network guard: its AppError reaches us as a RestError carrying its code and message (both Ferry's own)
  if (e.code === 'TARGET_NOT_ALLOWED' && status === undefined) {
    const reason = typeof e.message === 'string' ? e.message.replace(/\.$/, '') : 'its address is not allowed'
    return new AppError('TARGET_NOT_ALLOWED', `Ferry may not connect to ${where}: ${reason}. ` +
      'Use a public endpoint, or ask the operator to allow this network (FERRY_ALLOW_PRIVATE_NETWORKS).', {
      details: { reason: 'address', endpoint: ctx.endpoint }, cause: err,
    })
  }

  if (status === 403) {
    if (azureCode !== undefined && PERMISSION_CODES.has(azureCode)) {
      const what = ctx.auth === 'sas' ? 'the SAS token' : 'the account key'
      const action = ctx.operation === 'list'
        ? `list container ${container}`
        : ctx.operation === 'read' ? `read blob ${blob ?? ''}` : `write to container ${container}`
      return build('AZURE_PERMISSION_DENIED', 'permission_denied',
        `Azure Storage accepted ${what} of account "${ctx.accountName}", but it may not ${action}. ` +
        `Issue a SAS for the Blob service with the ${PERMISSION_LETTER[ctx.operation]} permission on this container (and the allowed IP ranges and protocol).`)
    }
    const message = ctx.auth === 'key'
      ? `Azure Storage refused the account key of account "${ctx.accountName}" (the request signature did not match). ` +
        'Re-enter key1 or key2 from the storage account\'s "Access keys" page; a rotated key stops working at once.'
      : `Azure Storage refused the SAS token of account "${ctx.accountName}": it has expired, been revoked, ` +
        'or was not issued for this account or container. Store a new SAS token.'
    if (azureCode === undefined || AUTH_CODES.has(azureCode)) return build('AZURE_AUTH_FAILED', 'auth_failed', message)
    return build('AZURE_PERMISSION_DENIED', 'permission_denied',
      `Azure Storage refused the request to ${ctx.operation} in container ${container} (HTTP 403, ${azureCode}).`)
  }

  if (status === 404) {
    if (azureCode === 'ContainerNotFound') {
      return build('AZURE_CONTAINER_NOT_FOUND', 'container_not_found',
        `Container ${container} does not exist in storage account "${ctx.accountName}". Check the container name (lower case) or create it.`)
    }
    if (azureCode === 'BlobNotFound') {
      return build('AZURE_CONFIG', 'blob_not_found', `Blob ${blob ?? ''} no longer exists in container ${container}.`)
    }
    return build('AZURE_CONFIG', 'not_found', `${capitalise(where)} answered 404${azureCode !== undefined ? ` (${azureCode})` : ''}: ` +
      `check the storage account name and, for an emulator, that the endpoint ends with the account name (e.g. http://127.0.0.1:10000/${ctx.accountName}).`)
  }

  if (status === 412) {
    return build('AZURE_BLOB_CHANGED', 'blob_changed', `Blob ${blob ?? ''} was overwritten after it was listed; the new version is taken by the next pull.`)
  }

  if (status === 429 || (status === 503 && azureCode === 'ServerBusy')) {
    return build('AZURE_ERROR', 'throttled', `${capitalise(where)} is throttling requests (HTTP ${status}). This is temporary; the request will be retried.`)
  }
  if (status !== undefined && status >= 500) {
    const code = azureCode !== undefined ? `, ${azureCode}` : ''
    return build('AZURE_ERROR', 'server_error', `${capitalise(where)} answered with a server error (HTTP ${status}${code}). ` +
      'This is usually temporary; the request will be retried.')
  }
  if (status !== undefined && status >= 400) {
    const code = azureCode !== undefined ? `, ${azureCode}` : ''
    return build('AZURE_CONFIG', 'request_rejected', `${capitalise(where)} rejected the request (HTTP ${status}${code}) for container ${container}.`)
  }

  if (e.name === 'AbortError' || (netCode !== undefined && TIMEOUT_CODES.has(netCode))) {
    return build('AZURE_ERROR', 'timeout', `${capitalise(where)} did not answer in time. This is usually temporary; the request will be retried.`)
  }
  if (netCode !== undefined && UNREACHABLE_CODES.has(netCode)) {
    const dns = netCode === 'ENOTFOUND' || netCode.startsWith('EAI_')
    const hint = dns && ctx.defaultEndpoint
      ? ` (the host name does not resolve: check the storage account name "${ctx.accountName}")`
      : dns ? ' (the host name does not resolve)' : netCode === 'ECONNREFUSED' ? ' (connection refused: check the endpoint URL and port)' : ''
    return build('AZURE_ERROR', 'endpoint_unreachable', `${capitalise(where)} could not be reached${hint}. If the settings are right, this is temporary.`)
  }
  return build('AZURE_ERROR', 'unknown', `The request to ${where} failed${netCode !== undefined ? ` (${netCode})` : ''}.`)
}

function capitalise (s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
