import type { Transport } from '../../connectors/transport.js'
import type { Deps } from '../../deps.js'
import { validatePattern, type DataSource } from '../../domain/source.js'
import { AppError, isAppError } from '../../errors.js'
import { assertLiteralAllowed } from '../../net/guarded-lookup.js'
import { checkHostAllowed } from '../target-checks.js'
import { parseSecretValue } from '../../vault/vault.js'
import type { Checklist } from '../checklist.js'
import { checkFiles } from '../file-checks.js'
import type { FileLocation, InventoryRole, KindDescriptor, KindDeps, RoleDescriptor, SecretOverride, SinkRole } from '../types.js'
import { SftpConfig } from './config.js'
import { normaliseHostKey } from './fingerprint.js'
import { basePath, keyFor, relativeKey, withSftp, type SftpCredentials } from './transport.js'

/** Errors of the vault that already name the field to fix; a ping passes them on unchanged. */
const VAULT_CODES = new Set(['NOT_FOUND', 'SECRET_TYPE_MISMATCH', 'VALIDATION_FAILED'])

/**
 * Defaults and the checks that need no network: the port, the path as keys start with it, the
 * host key's canonical form, and the private-network rule on a host that is an IP literal (a
 * name is checked when it is resolved, on every connection). A malformed hostKey is kept as
 * given: the ping then refuses it naming the key the server presented (src/kinds/sftp/config.ts).
 */
function normalise<C extends SftpConfig> (config: C, deps: Pick<Deps, 'policy'>, sink: boolean): C {
  validatePattern(config.pattern)
  const host = config.host.trim()
  try {
    assertLiteralAllowed(host, deps.policy)
  } catch (err) {
    if (!isAppError(err)) throw err
    throw new AppError('SOURCE_VALIDATION_FAILED', `Ferry may not connect to the SFTP server ${host}: ${err.message}.`, {
      details: { ...err.details, field: 'config.host', reason: 'address' },
    })
  }
  return {
    ...config,
    host,
    port: config.port ?? 22,
    path: basePath(config.path),
    hostKey: normaliseHostKey(config.hostKey) ?? config.hostKey.trim(),
    ...(sink ? { format: config.format ?? 'csv' } : {}),
  }
}

const transportOptions = (deps: Pick<KindDeps, 'policy' | 'config'>) => ({ policy: deps.policy, stallTimeoutMs: deps.config.targetTimeoutMs })

/**
 * One SSH connection for `fn`, closed afterwards also when `fn` throws (withSftp). The secret is
 * decrypted for this call only, or taken from `override` (a new value under trial).
 */
function withTransport<T> (deps: KindDeps, orgId: string, config: SftpConfig, fn: (transport: Transport) => Promise<T>,
  override?: SecretOverride): Promise<T> {
  const run = (credentials: SftpCredentials) => withSftp(config, credentials, transportOptions(deps), fn)
  if (override?.id === config.secretRef) return run(parseSecretValue('sftp', override.value))
  return deps.vault.withSecret(deps.db, orgId, config.secretRef, 'sftp', async secret => run(secret.reveal()))
}

/**
 * Connect, verify the host key, authenticate, readdir(path). A failure → 422 naming the field a
 * person should fix; a host key problem carries the fingerprint the server presented
 * (`details.presentedFingerprint`, and in the message) so it can be confirmed and pasted.
 */
async function ping (deps: KindDeps, orgId: string, config: SftpConfig, override?: SecretOverride): Promise<void> {
  try {
    await withTransport(deps, orgId, config, t => t.ping(), override)
  } catch (err) {
    if (!isAppError(err)) throw err
    if (VAULT_CODES.has(err.code)) throw err
    const reason = (err.details?.reason as string | undefined) ?? 'unknown'
    const field = (err.details?.field as string | undefined) ?? 'config.host'
    throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: ${err.message}`, {
      details: { ...err.details, field, reason, errorCode: err.code },
    })
  }
}

/** The Test step a failed connection or ping belongs to. */
function stepOf (err: AppError): 'host key' | 'credentials' | 'path' {
  if (err.code === 'SFTP_AUTH_FAILED') return 'credentials'
  if (err.code === 'SFTP_PATH_NOT_FOUND' || err.code === 'SFTP_PERMISSION_DENIED' || err.details?.reason === 'stalled') return 'path'
  // reaching the server and checking its key come before anything else is sent
  return 'host key'
}

/** secret resolves → host allowed → host key pinned → credentials accepted → path readable → (sources) the shared file checks. */
async function test (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as SftpConfig
  await list.step('secret', async () => {
    const method = await deps.vault.withSecret(deps.db, source.orgId, config.secretRef, 'sftp', async (secret) => {
      const v = secret.reveal()
      return [v.privateKey !== undefined ? 'a private key' : '', v.password !== undefined ? 'a password' : ''].filter(Boolean).join(' and ')
    })
    return { message: `The SFTP secret resolves (${method}).` }
  })
  await checkHostAllowed(deps, list, 'address', config.host)
  if (list.failed) return
  const server = `${config.host}:${config.port ?? 22}`
  await withTransport(deps, source.orgId, config, async (transport) => {
    const pingError = await transport.ping().then(() => null, (err: unknown) => {
      if (!isAppError(err)) throw err
      return err
    })
    const failedAt = pingError === null ? null : stepOf(pingError)
    await list.step('host key', async () => {
      if (pingError !== null && failedAt === 'host key') throw pingError
      return { message: `${server} presented the pinned host key ${config.hostKey}.` }
    })
    await list.step('credentials', async () => {
      if (pingError !== null && failedAt === 'credentials') throw pingError
      return { message: 'The SFTP server accepted the credentials.' }
    })
    await list.step('path', async () => {
      if (pingError !== null) throw pingError
      if (source.role === 'RESULTS_SINK') {
        return { message: `Path "${config.path}" can be read; results are written as ${keyFor(config.path, `job-<jobId>.${config.format ?? 'csv'}`)}.` }
      }
      return { message: `Path "${config.path}" can be read.` }
    })
    if (source.role === 'INVENTORY_SOURCE') await checkFiles(deps, source, location(config), transport, list)
  })
}

/** Keys are full paths (`{path}/{relative}`); `pattern` matches the part below `path` (docs/sftp.md). */
function location (config: SftpConfig): FileLocation {
  return { label: `path "${basePath(config.path)}"`, noun: 'file', relative: key => relativeKey(config.path, key) }
}

const common: Omit<RoleDescriptor<SftpConfig>, 'normalise'> = {
  config: SftpConfig,
  secrets: [{ field: 'secretRef', secretType: 'sftp', required: true }],
  ping,
  test,
}

const source: InventoryRole<SftpConfig> = { ...common, normalise: (c, deps) => normalise(c, deps, false), pulled: true }

/** `{path}/job-{jobId}.{format}`, uploaded as `….partial` and renamed by the transport's `put`. */
const sink: SinkRole<SftpConfig> = {
  ...common,
  normalise: (c, deps) => normalise(c, deps, true),
  defaultFormat: 'csv',
  target (config, jobId, format) {
    const key = keyFor(config.path, `job-${jobId}.${format}`)
    return { key, describe: `sftp://${config.host}:${config.port ?? 22}${key.startsWith('/') ? '' : '/~/'}${key}` }
  },
}

/** SFTP servers (docs/sftp.md): both roles, an "sftp" secret, the host key pinned. */
export const sftpKind: KindDescriptor<SftpConfig, SftpConfig> = {
  type: 'sftp',
  label: 'SFTP',
  roles: { INVENTORY_SOURCE: source, RESULTS_SINK: sink },
  withTransport,
  errorCodes: ['SFTP_HOST_KEY_MISMATCH', 'SFTP_AUTH_FAILED', 'SFTP_PATH_NOT_FOUND', 'SFTP_PERMISSION_DENIED', 'SFTP_UNREACHABLE',
    'SFTP_TIMEOUT', 'SFTP_FILE_CHANGED', 'SFTP_ERROR'],
  location,
}
