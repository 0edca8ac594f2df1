import { normalisePrefix, validatePattern, type DataSource } from '../../domain/source.js'
import type { Deps } from '../../deps.js'
import { AppError, isAppError } from '../../errors.js'
import type { ResultFormat } from '../../results/format.js'
import type { Checklist } from '../checklist.js'
import { checkFiles } from '../file-checks.js'
import { resultKey } from '../result-key.js'
import type { FileLocation, InventoryRole, KindDeps, KindDescriptor, RoleDescriptor, SecretOverride, SinkRole } from '../types.js'
import { withAzureTransport } from './access.js'
import { AzureBlobConfig } from './config.js'
import { checkAzureEndpoint } from './transport.js'
import { checkHostAllowed, checkSecretResolves, hostOfUrl } from '../target-checks.js'

/** The field a person should fix for each reason an Azure call fails (src/kinds/azure-blob/diagnostics.ts). */
const REASON_FIELD: Record<string, string> = {
  auth_failed: 'config.secretRef',
  permission_denied: 'config.secretRef',
  container_not_found: 'config.container',
  address: 'config.endpoint',
  endpoint_refused: 'config.endpoint',
}
/** Reasons that point at the endpoint when one is configured, else at the account name (the secret's). */
const WHERE_REASONS = new Set(['not_found', 'endpoint_unreachable', 'timeout', 'request_rejected', 'server_error', 'throttled'])
const CREDENTIAL_REASONS = new Set(['auth_failed', 'endpoint_unreachable', 'timeout', 'not_found', 'address'])

function normalise<C extends AzureBlobConfig> (config: C, deps: Pick<Deps, 'policy'>, sink: boolean): C {
  validatePattern(config.pattern)
  if (config.endpoint !== undefined) {
    try {
      checkAzureEndpoint(config.endpoint, deps.policy)
    } catch (err) {
      if (isAppError(err)) throw new AppError('SOURCE_VALIDATION_FAILED', err.message, { details: { field: 'config.endpoint', reason: 'endpoint_refused' } })
      throw err
    }
  }
  return {
    ...config,
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint.replace(/\/+$/, '') } : {}),
    prefix: normalisePrefix(config.prefix),
    ...(sink ? { format: config.format ?? 'csv' } : {}),
  }
}

/**
 * List one blob of the container and prefix (a sink also writes and deletes `{prefix}.ferry-write-check`,
 * so a SAS without write permission is refused before the first push). A failure → 422 naming the field.
 */
async function ping (deps: KindDeps, orgId: string, config: AzureBlobConfig, override: SecretOverride | undefined, sink: boolean): Promise<void> {
  try {
    await withAzureTransport(deps, orgId, config, async (t) => {
      await t.ping()
      if (sink) await t.writeCheck()
    }, override)
  } catch (err) {
    if (!isAppError(err)) throw err
    if (err.code === 'NOT_FOUND' || err.code === 'SECRET_TYPE_MISMATCH' || err.code === 'VALIDATION_FAILED') throw err
    const reason = (err.details?.reason as string | undefined) ?? 'unknown'
    const field = REASON_FIELD[reason] ?? (WHERE_REASONS.has(reason) && config.endpoint === undefined ? 'config.secretRef' : 'config.endpoint')
    throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: ${err.message}`, { details: { ...err.details, field, reason } })
  }
}

/** secret resolves → (endpoint allowed) → credentials accepted → container reachable → (source) blobs listed, newest's format. */
async function test (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as AzureBlobConfig
  await checkSecretResolves(deps, list, 'secret', source.orgId, { id: config.secretRef, type: 'azure' }, 'The Azure secret resolves.')
  if (config.endpoint !== undefined) await checkHostAllowed(deps, list, 'endpoint', hostOfUrl(config.endpoint))
  if (list.failed) return
  await withAzureTransport(deps, source.orgId, config, async (transport) => {
    const pingError = await transport.ping().then(() => null, (err: unknown) => err as AppError)
    const reason = (pingError?.details?.reason as string | undefined) ?? ''
    await list.step('credentials', async () => {
      if (pingError && CREDENTIAL_REASONS.has(reason)) throw pingError
      return { message: 'The credentials were accepted.' }
    })
    await list.step('container', async () => {
      if (pingError) throw pingError
      return { message: `Container "${config.container}" can be listed.` }
    })
    if (source.role === 'RESULTS_SINK') {
      // read-only: the write permission is checked when the sink is saved, not here
      await list.step('prefix', async () => {
        const example = resultKey(config.prefix, '<jobId>', (config.format ?? 'csv') as ResultFormat)
        return { message: `Prefix "${normalisePrefix(config.prefix)}" can be listed; results are written as ${example}.` }
      })
      return
    }
    await checkFiles(deps, source, location(config), transport, list)
  })
}

function location (config: AzureBlobConfig): FileLocation {
  const prefix = normalisePrefix(config.prefix)
  return {
    label: `prefix "${prefix}"`,
    noun: 'blob',
    relative: (key: string) => key.startsWith(prefix) ? key.slice(prefix.length) : null,
  }
}

const common: Pick<RoleDescriptor<AzureBlobConfig>, 'config' | 'secrets' | 'test'> = {
  config: AzureBlobConfig,
  secrets: [{ field: 'secretRef', secretType: 'azure', required: true }],
  test,
}

const source: InventoryRole<AzureBlobConfig> = {
  ...common,
  normalise: (c, deps) => normalise(c, deps, false),
  ping: (deps, orgId, c, override) => ping(deps, orgId, c, override, false),
  pulled: true,
}

const sink: SinkRole<AzureBlobConfig> = {
  ...common,
  normalise: (c, deps) => normalise(c, deps, true),
  ping: (deps, orgId, c, override) => ping(deps, orgId, c, override, true),
  defaultFormat: 'csv',
  target (config, jobId, format) {
    const key = resultKey(config.prefix, jobId, format)
    return { key, describe: `Azure container "${config.container}", blob ${key}` }
  },
}

/** Azure Blob Storage (docs/recipes/pull-inventory-from-azure-blob.md): both roles, an "azure" secret (shared key or SAS); results are block blobs. */
export const azureBlobKind: KindDescriptor<AzureBlobConfig, AzureBlobConfig> = {
  type: 'azure_blob',
  label: 'Azure Blob',
  roles: { INVENTORY_SOURCE: source, RESULTS_SINK: sink },
  withTransport: withAzureTransport,
  errorCodes: ['AZURE_AUTH_FAILED', 'AZURE_PERMISSION_DENIED', 'AZURE_CONTAINER_NOT_FOUND', 'AZURE_CONFIG', 'AZURE_ERROR', 'AZURE_BLOB_CHANGED'],
  location,
}
