/**
 * The one error catalogue. Every error Ferry raises on purpose has a stable code listed here;
 * codes are never reused or renamed once shipped (clients and alerts match on them).
 *
 * failureType tells who has to act:
 * - config:    the customer/operator must change something (bad input, wrong credentials, bucket missing)
 * - transient: may succeed if retried (timeouts, 5xx from S3, throttling); the only class that is retried
 * - system:    a bug or a broken deployment; details go to the log, never to the response body
 */
export type FailureType = 'config' | 'transient' | 'system'

interface ErrorDefinition {
  readonly status: number
  readonly failureType: FailureType
  readonly message: string
}

const define = (status: number, failureType: FailureType, message: string): ErrorDefinition =>
  ({ status, failureType, message })

export const ERRORS = {
  // request / auth
  VALIDATION_FAILED: define(400, 'config', 'The request is not valid.'),
  UNAUTHORIZED: define(401, 'config', 'A valid API key is required: send "Authorization: Bearer <api key>".'),
  FORBIDDEN: define(403, 'config', 'This API key may not perform this action.'),
  FORBIDDEN_ROLE: define(403, 'config', 'This API key\'s role may not perform this action.'),
  NOT_FOUND: define(404, 'config', 'Not found.'),
  CONFLICT: define(409, 'config', 'The request conflicts with the current state.'),
  PAYLOAD_TOO_LARGE: define(413, 'config', 'The request body is too large.'),
  UNSUPPORTED_MEDIA_TYPE: define(415, 'config', 'The content type is not supported.'),
  RATE_LIMITED: define(429, 'transient', 'Too many requests; retry later.'),
  INTERNAL: define(500, 'system', 'Internal server error.'),
  SERVICE_UNAVAILABLE: define(503, 'transient', 'The service is not ready.'),
  SHUTTING_DOWN: define(503, 'transient', 'Ferry is shutting down; the work in progress was rolled back. Send the request again (pulls retry on their own).'),

  // agents
  INVALID_CRON: define(400, 'config', 'The cron expression is not valid.'),
  INVALID_TIMEZONE: define(400, 'config', 'The timezone is not a valid IANA timezone.'),

  // vault
  SECRET_IN_USE: define(409, 'config', 'The secret is used by data sources; remove or repoint them first.'),
  SECRET_DECRYPT_FAILED: define(500, 'system', 'A secret could not be decrypted.'),
  MASTER_KEY_MISMATCH: define(500, 'system', 'The master key does not match the key that encrypted the vault.'),
  SECRET_TYPE_MISMATCH: define(400, 'config', 'The secret has the wrong type for this use.'),

  // inventory pipeline
  FILE_TOO_LARGE: define(413, 'config', 'The file exceeds the maximum size.'),
  TOO_MANY_ROWS: define(422, 'config', 'The file has more rows than allowed.'),
  TOO_MANY_COLUMNS: define(422, 'config', 'The file has more columns than allowed.'),
  CELL_TOO_LONG: define(422, 'config', 'A cell is longer than allowed.'),
  UNSUPPORTED_FORMAT: define(422, 'config', 'The file format is not supported.'),
  PARSE_FAILED: define(422, 'config', 'The file could not be parsed.'),
  JSON_TOO_DEEP: define(422, 'config', 'The JSON document is nested too deeply.'),
  LINE_TOO_LONG: define(422, 'config', 'A line is longer than allowed.'),
  XLSX_UNSAFE: define(422, 'config', 'The XLSX file was refused before it was opened.'),
  EMPTY_FILE: define(422, 'config', 'The file is empty.'),
  NO_ROWS: define(422, 'config', 'The file was read but yielded no data rows.'),
  NO_SKU_COLUMN: define(422, 'config', 'No column of the file maps to sku.'),
  ZIP_UNSAFE: define(422, 'config', 'The zip archive was refused before it was opened.'),
  NO_FILE_TO_PREVIEW: define(422, 'config', 'There is no matching file to preview.'),
  STAGING_LOST: define(503, 'transient', 'The file\'s staged rows were given up before it was published (its staging lease lapsed); it is taken again.'),

  // network guard
  TARGET_NOT_ALLOWED: define(422, 'config', 'The target address is not allowed.'),
  TARGET_UNREACHABLE: define(502, 'transient', 'The target could not be reached.'),
  TARGET_TIMEOUT: define(504, 'transient', 'The target did not answer in time.'),

  // data sources / sync
  SOURCE_VALIDATION_FAILED: define(422, 'config', 'The data source could not be validated.'),
  SOURCE_DISABLED: define(409, 'config', 'The data source is disabled.'),
  PULL_FAILED: define(502, 'transient', 'The pull failed.'),
  PULL_IN_PROGRESS: define(409, 'transient', 'A pull of this source is already running.'),
  LEASE_LOST: define(409, 'transient', 'Another worker took over this sync.'),
  WORKER_LOST: define(503, 'transient', 'The worker running this pull stopped; it is retried, and the next pull takes every file not yet taken.'),
  S3_ERROR: define(502, 'transient', 'The S3 store answered with an error.'),
  S3_CONFIG: define(422, 'config', 'The S3 store refused the request.'),
  // Azure Blob Storage (src/kinds/azure-blob/diagnostics.ts; details.reason says more)
  AZURE_AUTH_FAILED: define(422, 'config', 'Azure Storage refused the account key or SAS token.'),
  AZURE_PERMISSION_DENIED: define(422, 'config', 'The Azure credentials were accepted but may not perform this operation.'),
  AZURE_CONTAINER_NOT_FOUND: define(422, 'config', 'The Azure Blob container does not exist.'),
  AZURE_CONFIG: define(422, 'config', 'Azure Storage refused the request.'),
  AZURE_ERROR: define(502, 'transient', 'Azure Storage could not be reached or answered with an error.'),
  // the blob was overwritten between list and download: the new version is taken by the next pull
  AZURE_BLOB_CHANGED: define(409, 'transient', 'The blob changed after it was listed.'),
  // HTTPS file sources (src/kinds/https/transport.ts)
  HTTPS_NOT_FOUND: define(422, 'config', 'The URL answered 404 Not Found.'),
  HTTPS_REDIRECT: define(422, 'config', 'The URL answered with a redirect, which Ferry does not follow.'),
  HTTPS_AUTH_FAILED: define(422, 'config', 'The URL refused the request (401/403).'),
  HTTPS_REJECTED: define(422, 'config', 'The URL rejected the request.'),
  HTTPS_ERROR: define(502, 'transient', 'The URL answered with a server error.'),
  AUTO_PUSH_REQUIRES_TEST: define(409, 'config', 'Turning auto-push on requires a passing test of this sink within the last 24 hours.'),
  WEBHOOK_SIGNATURE_INVALID: define(401, 'config', 'The webhook signature is missing or invalid.'),
  REQUEST_TIMEOUT: define(408, 'transient', 'The request body stopped arriving; send it again.'),
  RESULTS_TOO_LARGE: define(413, 'config', 'The results exceed the sink\'s inline limit; use an S3 sink for large results.'),
  DELIVERY_FAILED: define(502, 'transient', 'The delivery failed.'),
  SYNC_FINISHED: define(409, 'config', 'The sync has already finished.'),
  // a cancelled sync's error code, and what a pull that finds its sync cancelled stops with (config: never retried)
  SYNC_CANCELLED: define(409, 'config', 'The sync was cancelled.'),
  PUSH_NOT_WAITING: define(409, 'config', 'The push is not waiting for a retry.'),

  // SFTP (src/kinds/sftp/diagnostics.ts: details.reason says which case, details.field which config field to fix)
  SFTP_HOST_KEY_MISMATCH: define(422, 'config', 'The SFTP server presented a host key that does not match the pinned hostKey.'),
  SFTP_AUTH_FAILED: define(422, 'config', 'The SFTP server refused the credentials.'),
  SFTP_PATH_NOT_FOUND: define(422, 'config', 'The path does not exist on the SFTP server.'),
  SFTP_PERMISSION_DENIED: define(422, 'config', 'The SFTP user may not access this path.'),
  SFTP_UNREACHABLE: define(502, 'transient', 'The SFTP server could not be reached.'),
  SFTP_TIMEOUT: define(504, 'transient', 'The SFTP server did not answer in time.'),
  SFTP_FILE_CHANGED: define(409, 'transient', 'The file changed on the SFTP server while it was being read; the next pull takes the new version.'),
  SFTP_ERROR: define(502, 'transient', 'The SFTP server failed the request.'),
} as const satisfies Record<string, ErrorDefinition>

export type ErrorCode = keyof typeof ERRORS

export class AppError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly failureType: FailureType
  readonly details?: Record<string, unknown>

  constructor (code: ErrorCode, message?: string, options: { details?: Record<string, unknown>, cause?: unknown } = {}) {
    const definition = ERRORS[code]
    super(message ?? definition.message, { cause: options.cause })
    this.name = 'AppError'
    this.code = code
    this.statusCode = definition.status
    this.failureType = definition.failureType
    this.details = options.details
  }

  get retryable (): boolean {
    return this.failureType === 'transient'
  }
}

export const appError = (code: ErrorCode, message?: string, options?: { details?: Record<string, unknown>, cause?: unknown }): AppError =>
  new AppError(code, message, options)

export const isAppError = (err: unknown): err is AppError => err instanceof AppError

/** The error of work cut off by a stopping process (its transaction rolls back; see src/runtime.ts). */
export const shuttingDown = (): AppError => new AppError('SHUTTING_DOWN')

/** Turns anything thrown into an Error, so loops and logs always have one shape. */
export function coerceError (err: unknown): Error {
  if (err instanceof Error) return err
  return new Error(typeof err === 'string' ? err : JSON.stringify(err))
}
