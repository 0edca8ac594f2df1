import { normalisePrefix, validatePattern } from '../../domain/source.js'
import { AppError, isAppError } from '../../errors.js'
import type { ResultFormat } from '../../results/format.js'
import { checkFiles } from '../file-checks.js'
import { resultKey } from '../result-key.js'
import type { InventoryRole, KindDescriptor, KindDeps, RoleDescriptor, SecretOverride, SinkRole } from '../types.js'
import type { Checklist } from '../checklist.js'
import type { Deps } from '../../deps.js'
import type { DataSource } from '../../domain/source.js'
import { withS3Transport } from './access.js'
import { checkEndpoint } from './client.js'
import { S3Config } from './config.js'
import { checkHostAllowed, checkSecretResolves, hostOfUrl } from '../target-checks.js'

/** The field a person should fix for each reason an S3 ping fails (src/kinds/s3/diagnostics.ts). */
const REASON_FIELD: Record<string, string> = {
  unknown_key_id: 'config.secretRef',
  signature_mismatch: 'config.secretRef',
  expired_token: 'config.secretRef',
  access_denied: 'config.secretRef',
  no_such_bucket: 'config.bucket',
  wrong_region: 'config.region',
  endpoint_refused: 'config.endpoint',
  endpoint_unreachable: 'config.endpoint',
  timeout: 'config.endpoint',
}

function normalise<C extends S3Config> (config: C, deps: Pick<Deps, 'policy'>, sink: boolean): C {
  validatePattern(config.pattern)
  if (config.endpoint) {
    try {
      checkEndpoint(config.endpoint, deps.policy)
    } catch (err) {
      if (isAppError(err)) throw new AppError('SOURCE_VALIDATION_FAILED', err.message, { details: { field: 'config.endpoint', reason: 'endpoint_refused' } })
      throw err
    }
  }
  return { ...config, prefix: normalisePrefix(config.prefix), region: config.region ?? 'us-east-1', ...(sink ? { format: config.format ?? 'csv' } : {}) }
}

/** ListObjectsV2 MaxKeys=1 on bucket+prefix; a failure → 422 naming the field a person should fix. */
async function ping (deps: KindDeps, orgId: string, config: S3Config, override?: SecretOverride): Promise<void> {
  try {
    await withS3Transport(deps, orgId, config, t => t.ping(), override)
  } catch (err) {
    if (!isAppError(err)) throw err
    if (err.code === 'NOT_FOUND' || err.code === 'SECRET_TYPE_MISMATCH' || err.code === 'VALIDATION_FAILED') throw err
    const reason = (err.details?.reason as string | undefined) ?? 'unknown'
    const field = REASON_FIELD[reason] ?? (config.endpoint ? 'config.endpoint' : 'config.bucket')
    throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: ${err.message}`, { details: { ...err.details, field, reason } })
  }
}

const CREDENTIAL_REASONS = new Set(['unknown_key_id', 'signature_mismatch', 'expired_token'])
const UNREACHABLE_REASONS = new Set(['endpoint_refused', 'endpoint_unreachable', 'timeout'])

/** secret resolves → (endpoint allowed) → credentials accepted → bucket reachable → prefix lists → newest file's format. */
async function test (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as S3Config
  await checkSecretResolves(deps, list, 'secret', source.orgId, { id: config.secretRef, type: 'aws' }, 'The AWS secret resolves.')
  if (config.endpoint) await checkHostAllowed(deps, list, 'endpoint', hostOfUrl(config.endpoint))
  if (list.failed) return
  await withS3Transport(deps, source.orgId, config, async (transport) => {
    const pingError = await transport.ping().then(() => null, (err: unknown) => err as AppError)
    const reason = (pingError?.details?.reason as string | undefined) ?? ''
    await list.step('credentials', async () => {
      if (pingError && (CREDENTIAL_REASONS.has(reason) || UNREACHABLE_REASONS.has(reason))) throw pingError
      return { message: 'The credentials were accepted.' }
    })
    await list.step('bucket', async () => {
      if (pingError) throw pingError
      return { message: `Bucket "${config.bucket}" is reachable in region ${config.region}.` }
    })
    if (source.role === 'RESULTS_SINK') {
      await list.step('prefix', async () => {
        const example = resultKey(config.prefix, '<jobId>', (config.format ?? 'csv') as ResultFormat)
        return { message: `Prefix "${normalisePrefix(config.prefix)}" can be listed; results are written as ${example}.` }
      })
      return
    }
    await checkFiles(deps, source, location(config), transport, list)
  })
}

function location (config: S3Config) {
  const prefix = normalisePrefix(config.prefix)
  return {
    label: `prefix "${prefix}"`,
    noun: 'object',
    relative: (key: string) => key.startsWith(prefix) ? key.slice(prefix.length) : null,
  }
}

const common: Omit<RoleDescriptor<S3Config>, 'normalise'> = {
  config: S3Config,
  secrets: [{ field: 'secretRef', secretType: 'aws', required: true }],
  ping,
  test,
}

const source: InventoryRole<S3Config> = { ...common, normalise: (c, deps) => normalise(c, deps, false), pulled: true }

const sink: SinkRole<S3Config> = {
  ...common,
  normalise: (c, deps) => normalise(c, deps, true),
  defaultFormat: 'csv',
  target (config, jobId, format) {
    const key = resultKey(config.prefix, jobId, format)
    return { key, describe: `s3://${config.bucket}/${key}` }
  },
}

/** S3 and S3-compatible stores (docs/sources.md): both roles, an "aws" secret. */
export const s3Kind: KindDescriptor<S3Config, S3Config> = {
  type: 's3',
  label: 'S3',
  roles: { INVENTORY_SOURCE: source, RESULTS_SINK: sink },
  withTransport: withS3Transport,
  errorCodes: ['S3_ERROR', 'S3_CONFIG'],
  location,
}
