import { AppError, isAppError, type ErrorCode } from '../../errors.js'

/**
 * Turns whatever an SSH/SFTP call failed with (ssh2 errors, socket errors, SFTP status codes, the
 * network guard's AppErrors) into an AppError a person can act on.
 *
 * code                     details.reason                       details.field
 *   SFTP_HOST_KEY_MISMATCH  host_key_mismatch | host_key_missing  config.hostKey    (built in transport.ts)
 *   SFTP_AUTH_FAILED        auth_failed                          config.secretRef
 *   SFTP_PATH_NOT_FOUND     path_not_found | not_a_directory     config.path
 *   SFTP_PERMISSION_DENIED  permission_denied                    config.path
 *   TARGET_NOT_ALLOWED      address                              config.host
 *   SFTP_UNREACHABLE        unresolved | connection_refused | unreachable | connection_lost   config.host
 *   SFTP_TIMEOUT            connect_timeout | handshake_timeout | stalled                    config.host
 *   SFTP_ERROR              sftp_failure | protocol                config.host
 *
 * Messages are composed from the context and the error's code only, never from the server's text
 * (an SFTP status message is the server's free text) and never with a credential.
 */

export interface SftpContext {
  host: string
  port: number
  /** the configured path (listing, ping) */
  path?: string
  /** the file a read or write was about */
  key?: string
}

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7) that mean something to a person. */
const SFTP_NO_SUCH_FILE = 2
const SFTP_PERMISSION_DENIED = 3
const SFTP_FAILURE = 4

const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EHOSTDOWN', 'ENETDOWN'])
const UNRESOLVED_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME'])

export const server = (ctx: SftpContext): string => `${ctx.host}:${ctx.port}`

export function sftpError (code: ErrorCode, reason: string, field: string, message: string, ctx: SftpContext,
  extra: Record<string, unknown> = {}, cause?: unknown): AppError {
  return new AppError(code, message, {
    details: {
      reason,
      field,
      host: ctx.host,
      port: ctx.port,
      ...(ctx.path !== undefined ? { path: ctx.path } : {}),
      ...(ctx.key !== undefined ? { key: ctx.key } : {}),
      ...extra,
    },
    cause,
  })
}

/** A timeout while waiting for the server (`what` says for what: "the handshake", "a read of …"). */
export function sftpTimeout (reason: 'connect_timeout' | 'handshake_timeout' | 'stalled', what: string, ms: number, ctx: SftpContext): AppError {
  return sftpError('SFTP_TIMEOUT', reason, 'config.host',
    `The SFTP server ${server(ctx)} did not answer ${what} within ${Math.round(ms / 100) / 10} s. This is usually temporary; the request will be retried.`,
    ctx, { timeoutMs: ms })
}

export function connectionLost (ctx: SftpContext, cause?: unknown): AppError {
  return sftpError('SFTP_UNREACHABLE', 'connection_lost', 'config.host',
    `The connection to the SFTP server ${server(ctx)} was closed before the request finished. This is usually temporary; the request will be retried.`,
    ctx, {}, cause)
}

interface Ssh2LikeError { code?: unknown, level?: unknown, message?: unknown, errors?: unknown, cause?: unknown }

function networkCode (err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== 'object' || depth > 5) return undefined
  const e = err as Ssh2LikeError
  if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code
  if (Array.isArray(e.errors) && e.errors.length > 0) return networkCode(e.errors[0], depth + 1)
  return networkCode(e.cause, depth + 1)
}

export function diagnoseSftpError (err: unknown, ctx: SftpContext, operation: string): AppError {
  if (isAppError(err)) {
    if (err.code !== 'TARGET_NOT_ALLOWED' || err.details?.field !== undefined) return err
    return new AppError('TARGET_NOT_ALLOWED',
      `Ferry may not connect to the SFTP server ${ctx.host}: ${err.message}. ` +
      'Use a public address, or ask the operator to allow this network (FERRY_ALLOW_PRIVATE_NETWORKS).',
      { details: { ...err.details, reason: 'address', field: 'config.host' }, cause: err })
  }
  const e = (err !== null && typeof err === 'object' ? err : {}) as Ssh2LikeError
  const where = ctx.key ?? ctx.path ?? ''
  const netCode = networkCode(err)

  if (e.level === 'client-authentication') {
    return sftpError('SFTP_AUTH_FAILED', 'auth_failed', 'config.secretRef',
      `The SFTP server ${server(ctx)} refused the credentials in the secret (every offered method failed). ` +
      'Check the user name and the password or private key, and that the key is in the user\'s authorized_keys.', ctx)
  }
  if (e.level === 'client-timeout') {
    return sftpError('SFTP_TIMEOUT', 'handshake_timeout', 'config.host',
      `The SFTP server ${server(ctx)} did not complete the SSH handshake in time (or stopped answering keep-alives). ` +
      'Check that host and port are those of an SSH server; if they are, this is temporary.', ctx, {}, err)
  }
  if (typeof e.code === 'number') {
    switch (e.code) {
      case SFTP_NO_SUCH_FILE:
        return sftpError('SFTP_PATH_NOT_FOUND', 'path_not_found', 'config.path',
          `"${where}" does not exist on the SFTP server ${server(ctx)} (${operation}). Check the path; it is ` +
          'absolute when it starts with "/", otherwise relative to the user\'s login directory.', ctx)
      case SFTP_PERMISSION_DENIED:
        return sftpError('SFTP_PERMISSION_DENIED', 'permission_denied', 'config.path',
          `The SFTP user may not ${operation} "${where}" on ${server(ctx)}. Ask the server's administrator for that permission.`, ctx)
      case SFTP_FAILURE:
        return sftpError('SFTP_ERROR', 'sftp_failure', 'config.host',
          `The SFTP server ${server(ctx)} failed to ${operation} "${where}" (SSH_FX_FAILURE).`, ctx)
    }
  }
  if (netCode === 'ETIMEDOUT') {
    return sftpError('SFTP_TIMEOUT', 'connect_timeout', 'config.host',
      `The SFTP server ${server(ctx)} did not accept the connection in time. Check host and port and any firewall; otherwise this is temporary.`,
      ctx, { networkCode: netCode }, err)
  }
  if (netCode === 'ECONNREFUSED') {
    return sftpError('SFTP_UNREACHABLE', 'connection_refused', 'config.host',
      `The SFTP server ${server(ctx)} refused the connection: nothing listens on that port. Check host and port.`,
      ctx, { networkCode: netCode }, err)
  }
  if (netCode !== undefined && UNRESOLVED_CODES.has(netCode)) {
    return sftpError('SFTP_UNREACHABLE', 'unresolved', 'config.host',
      `The SFTP server's host name "${ctx.host}" does not resolve. Check the host.`, ctx, { networkCode: netCode }, err)
  }
  if (netCode !== undefined && UNREACHABLE_CODES.has(netCode)) {
    return sftpError('SFTP_UNREACHABLE', 'unreachable', 'config.host',
      `The SFTP server ${server(ctx)} could not be reached (${netCode}). Check host and port; if they are right, this is temporary.`,
      ctx, { networkCode: netCode }, err)
  }
  if (e.message === 'No response from server' || e.level === 'client-socket') return connectionLost(ctx, err)
  return sftpError('SFTP_ERROR', 'protocol', 'config.host',
    `The SFTP request (${operation}) to ${server(ctx)} failed${typeof e.level === 'string' ? ` (${e.level})` : ''}.`, ctx, {}, err)
}
