import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import type { Deps } from '../deps.js'
import type { Queryable } from '../db/client.js'
import { requireAgent } from '../agents/service.js'
import { sourceNotFound, requireSource } from './lookup.js'
import { findSourcesUsingSecret, getSourceById, insertSource, updateSource, type SourceFields } from '../db/sql/sources.js'
import {
  computeNextPullAt, mergeConfigPatch, normalisePrefix, secretRefsOf, validatePattern, validateSourceCron,
  type DataSource, type OutboundWebhookConfig, type S3Config, type SourceConfig, type SourceRole, type SourceType,
} from '../domain/source.js'
import { AppError, isAppError } from '../errors.js'
import { checkEndpoint } from '../connectors/s3-client.js'
import { assertTargetUrl, guardedRequest } from '../net/guarded-http.js'
import { InboundWebhookConfig, OutboundWebhookConfig as OutboundSchema, S3Config as S3Schema } from '../schemas/sources.js'
import { newId } from '../util/ids.js'
import { checkParseSettings } from '../formats/parse-options.js'
import { withCredentials, withS3Transport } from './s3-access.js'
import { parseSecretValue } from '../vault/vault.js'
import { diff, recordAudit, type Actor } from '../audit/audit.js'

/** A passing test of a sink within this window is required before auto-push is switched on. */
export const AUTO_PUSH_TEST_WINDOW_MS = 24 * 3600 * 1000

export interface SourceInput {
  name?: string
  role?: SourceRole
  type?: SourceType
  config?: Record<string, unknown>
  scheduleCron?: string | null
  enabled?: boolean
  autoPush?: boolean
  validate?: boolean
}

function configSchema (type: SourceType, role: SourceRole): TSchema {
  if (type === 's3') return S3Schema
  return role === 'INVENTORY_SOURCE' ? InboundWebhookConfig : OutboundSchema
}

/** Schema check of a config for its (type, role), with the first error named by field. */
function checkConfig (type: SourceType, role: SourceRole, config: Record<string, unknown>): SourceConfig {
  const schema = configSchema(type, role)
  if (!Value.Check(schema, config)) {
    const first = [...Value.Errors(schema, config)][0]
    const where = first?.instancePath ? `config${first.instancePath.replace(/\//g, '.')}` : 'config'
    const missing = (first?.params as { requiredProperties?: string[] } | undefined)?.requiredProperties
    const field = missing?.length ? `config.${missing[0]}` : where
    const extra = (first?.params as { additionalProperties?: string[] } | undefined)?.additionalProperties
    const kind = role === 'INVENTORY_SOURCE' ? 'source' : 'sink'
    const message = extra?.length ? `${field}.${extra[0]} is not a known field for a ${type} ${kind}` : `${field} ${first?.message ?? 'is not valid'}`
    throw new AppError('VALIDATION_FAILED', message, { details: { field: extra?.length ? `${field}.${extra[0]}` : field } })
  }
  return config as unknown as SourceConfig
}

/**
 * The import options of an inventory source (docs/formats.md): parse settings checked and stripped
 * of cleared (null) fields, an empty field map dropped. Sinks have neither, nor can they write Parquet.
 */
function normaliseImportOptions (role: SourceRole, config: SourceConfig): SourceConfig {
  const { parse, fieldMap, ...rest } = config as S3Config & { parse?: Record<string, unknown> | null, fieldMap?: Record<string, unknown> | null }
  if (role === 'RESULTS_SINK') {
    const field = parse != null ? 'config.parse' : fieldMap != null ? 'config.fieldMap' : undefined
    if (field) throw new AppError('VALIDATION_FAILED', `${field} applies to inventory sources only.`, { details: { field } })
    if ((config as S3Config).format === 'parquet') {
      throw new AppError('VALIDATION_FAILED', 'Results are written as CSV, JSON, NDJSON or XLSX, not Parquet.', { details: { field: 'config.format' } })
    }
    return rest as SourceConfig
  }
  const settings = checkParseSettings(parse ?? undefined, 'config.parse')
  const fields = Object.entries(fieldMap ?? {}).filter(([, column]) => typeof column === 'string')
  return { ...rest, ...(settings ? { parse: settings } : {}), ...(fields.length > 0 ? { fieldMap: Object.fromEntries(fields) } : {}) } as SourceConfig
}

/** Defaults and checks that need no network. */
function normaliseConfig (type: SourceType, role: SourceRole, checked: SourceConfig, deps: Pick<Deps, 'policy'>): SourceConfig {
  const config = normaliseImportOptions(role, checked)
  if (type === 's3') {
    const c = config as S3Config
    validatePattern(c.pattern)
    if (c.endpoint) {
      try {
        checkEndpoint(c.endpoint, deps.policy)
      } catch (err) {
        if (isAppError(err)) throw new AppError('SOURCE_VALIDATION_FAILED', err.message, { details: { field: 'config.endpoint', reason: 'endpoint_refused' } })
        throw err
      }
    }
    return { ...c, prefix: normalisePrefix(c.prefix), region: c.region ?? 'us-east-1', ...(role === 'RESULTS_SINK' ? { format: c.format ?? 'csv' } : {}) }
  }
  if (role === 'RESULTS_SINK') {
    const c = config as OutboundWebhookConfig
    try {
      assertTargetUrl(c.url, deps.policy)
    } catch (err) {
      if (isAppError(err)) throw new AppError('SOURCE_VALIDATION_FAILED', err.message, { details: { field: 'config.url', reason: 'endpoint_refused' } })
      throw err
    }
    return { ...c, format: c.format ?? 'json' }
  }
  return config
}

const CREDENTIAL_REASONS = new Set(['unknown_key_id', 'signature_mismatch', 'expired_token', 'access_denied'])

const S3_REASON_FIELD: Record<string, string> = {
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

/**
 * The save-time validation ping (docs/recipes/pull-inventory-from-s3.md, "The data source"): S3 → ListObjectsV2 MaxKeys=1 on bucket+prefix;
 * outbound webhook → OPTIONS url. Failure → 422 SOURCE_VALIDATION_FAILED naming the field to fix.
 */
export async function validationPing (deps: Deps, orgId: string, type: SourceType, role: SourceRole, config: SourceConfig): Promise<void> {
  if (type === 's3') {
    await pingS3(() => withS3Transport(deps, orgId, config as S3Config, t => t.ping()), config as S3Config)
    return
  }
  if (role === 'RESULTS_SINK') {
    const url = (config as OutboundWebhookConfig).url
    try {
      const res = await guardedRequest(url, { policy: deps.policy, method: 'OPTIONS', timeoutMs: deps.config.targetTimeoutMs, maxResponseBytes: 4096 })
      if (res.status >= 300 && res.status < 400) {
        throw new AppError('SOURCE_VALIDATION_FAILED',
          `Validation failed: OPTIONS ${url} answered ${res.status} (a redirect); Ferry does not follow redirects, so give the final URL.`,
          { details: { field: 'config.url', reason: 'redirect', status: res.status } })
      }
      if (res.status >= 500) {
        throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: OPTIONS ${url} answered ${res.status}.`, {
          details: { field: 'config.url', reason: 'server_error', status: res.status },
        })
      }
    } catch (err) {
      if (isAppError(err) && err.code === 'SOURCE_VALIDATION_FAILED') throw err
      if (!isAppError(err)) throw err
      throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: ${err.message}`, {
        details: { ...err.details, field: 'config.url', reason: err.details?.reason ?? err.code.toLowerCase() },
      })
    }
  }
}

/** Runs an S3 ping and turns its failure into a 422 naming the field a person should fix. */
async function pingS3 (ping: () => Promise<unknown>, config: S3Config): Promise<void> {
  try {
    await ping()
  } catch (err) {
    if (!isAppError(err)) throw err
    if (err.code === 'NOT_FOUND' || err.code === 'SECRET_TYPE_MISMATCH') throw err
    const reason = (err.details?.reason as string | undefined) ?? 'unknown'
    const field = S3_REASON_FIELD[reason] ?? (config.endpoint ? 'config.endpoint' : 'config.bucket')
    throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: ${err.message}`, { details: { ...err.details, field, reason } })
  }
}

/**
 * docs/security.md: a new value for a secret in use is validated before it is stored — every S3 source or
 * sink that uses it is pinged with the new credentials. A failure names the source and answers 422.
 */
export async function validateSecretChange (deps: Deps, orgId: string, secretId: string, newValue: unknown): Promise<void> {
  const secret = await deps.vault.get(orgId, secretId)
  if (secret.type !== 'aws' || newValue === undefined) return
  const credentials = parseSecretValue('aws', newValue)
  for (const user of await findSourcesUsingSecret(deps.db, orgId, secretId)) {
    const source = await getSourceById(deps.db, user.id)
    if (!source || source.type !== 's3') continue
    const config = source.config as S3Config
    try {
      await pingS3(() => withCredentials(deps, config, credentials, t => t.ping()), config)
    } catch (err) {
      if (!isAppError(err) || err.code !== 'SOURCE_VALIDATION_FAILED') throw err
      // only the credentials are on trial: a source broken for another reason (its bucket is gone)
      // must not block fixing a key
      if (!CREDENTIAL_REASONS.has(err.details?.reason as string)) continue
      const reason = err.message.replace(/^Validation failed: /, '')
      throw new AppError('SOURCE_VALIDATION_FAILED', `The new value does not work for data source "${source.name}": ${reason}`, {
        details: { ...err.details, field: 'value', sourceId: source.id, sourceName: source.name },
      })
    }
  }
}

async function checkSecretRefs (deps: Deps, q: Queryable, orgId: string, source: { type: SourceType, role: SourceRole }, config: SourceConfig): Promise<void> {
  for (const ref of secretRefsOf(source, config)) {
    try {
      await deps.vault.reference(q, orgId, ref.id, ref.type)
    } catch (err) {
      if (isAppError(err) && err.code === 'NOT_FOUND') {
        throw new AppError('VALIDATION_FAILED', `${ref.field} does not name a secret of this organisation.`, { details: { field: ref.field } })
      }
      if (isAppError(err) && err.code === 'SECRET_TYPE_MISMATCH') {
        throw new AppError('VALIDATION_FAILED', `${ref.field} must name a secret of type "${ref.type}".`, { details: { field: ref.field } })
      }
      throw err
    }
  }
}

function checkScheduleAllowed (type: SourceType, role: SourceRole, cron: string | null | undefined): void {
  if (cron != null && !(type === 's3' && role === 'INVENTORY_SOURCE')) {
    throw new AppError('VALIDATION_FAILED', 'Only S3 inventory sources are pulled on a schedule; leave scheduleCron null.', {
      details: { field: 'scheduleCron' },
    })
  }
}

function requireRecentTest (source: Pick<DataSource, 'lastTestAt' | 'lastTestOk'> | null): void {
  const recent = source?.lastTestOk === true && source.lastTestAt !== null && Date.now() - Date.parse(source.lastTestAt) <= AUTO_PUSH_TEST_WINDOW_MS
  if (!recent) {
    throw new AppError('AUTO_PUSH_REQUIRES_TEST',
      'Turning auto-push on requires a passing test of this sink within the last 24 hours: ' +
      'pushes are external side effects and cannot be undone. Run POST …/test first.',
      { details: { field: 'autoPush' } })
  }
}

/**
 * A config as it would be saved (schema, defaults, import options, its secrets exist in the
 * organisation), without saving it or pinging anything: the preview of an unsaved source reads with it.
 */
export async function prepareSourceConfig (deps: Deps, orgId: string, type: SourceType, role: SourceRole, raw: Record<string, unknown>): Promise<SourceConfig> {
  const config = normaliseConfig(type, role, checkConfig(type, role, raw), deps)
  if (type === 's3') await checkSecretRefs(deps, deps.db, orgId, { type, role }, config)
  return config
}

export interface CreatedSource { source: DataSource, generatedSigningSecret?: string }

export async function createSource (
  deps: Deps, orgId: string, agentId: string, input: Required<Pick<SourceInput, 'name' | 'role' | 'type' | 'config'>> & SourceInput, actor?: Actor,
): Promise<CreatedSource> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  const { role, type } = input
  let config = normaliseConfig(type, role, checkConfig(type, role, input.config), deps)
  checkScheduleAllowed(type, role, input.scheduleCron)
  const scheduleCron = validateSourceCron(input.scheduleCron, agent.timezone)
  if (role !== 'RESULTS_SINK' && input.autoPush) {
    throw new AppError('VALIDATION_FAILED', 'autoPush applies to results sinks only.', { details: { field: 'autoPush' } })
  }
  if (input.autoPush) requireRecentTest(null)

  let generatedSigningSecret: string | undefined
  if (type === 'webhook' && role === 'INVENTORY_SOURCE' && !(config as { secretRef?: string }).secretRef) {
    const created = await deps.vault.create(orgId, { name: `${input.name} (inbound signing secret)`, type: 'webhook' }, actor)
    generatedSigningSecret = created.generatedSigningSecret?.reveal()
    config = { ...config, secretRef: created.secret.id }
  }

  await checkSecretRefs(deps, deps.db, orgId, { type, role }, config)
  const validate = input.validate !== false
  if (validate) await validationPing(deps, orgId, type, role, config)

  const enabled = input.enabled ?? true
  const fields: SourceFields = {
    name: input.name.trim(),
    config,
    scheduleCron,
    enabled,
    autoPush: false,
    validatedAt: validate ? new Date() : null,
    validationSkipped: !validate,
    nextPullAt: computeNextPullAt({ role, type, enabled, scheduleCron }, agent, new Date()),
  }
  const source = await deps.db.transaction(async (tx) => {
    // re-checked under a share lock: a concurrent DELETE of the secret waits for this insert
    await checkSecretRefs(deps, tx, orgId, { type, role }, config)
    const inserted = await insertSource(tx, { ...fields, id: newId(), orgId, agentId, role, type })
    if (actor) await recordAudit(tx, actor, { action: 'create', resourceType: 'data_source', resourceId: inserted.id })
    return inserted
  })
  return { source, ...(generatedSigningSecret ? { generatedSigningSecret } : {}) }
}

/** What a source's update records in the audit log: config holds secret ids (secretRef), never values. */
const SOURCE_FIELDS = ['name', 'config', 'scheduleCron', 'enabled', 'autoPush'] as const

export async function updateSourceWith (
  deps: Deps, orgId: string, agentId: string, sourceId: string, patch: SourceInput, actor?: Actor,
): Promise<DataSource> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  const current = await requireSource(deps.db, orgId, agentId, sourceId)
  const configChanged = patch.config !== undefined
  // a merge patch: `null` clears an optional setting (docs/formats.md), nested objects (parse, fieldMap) merge field by field
  const stored = current.config as unknown as Record<string, unknown>
  const merged = configChanged ? mergeConfigPatch(stored, patch.config!) : stored
  const config = configChanged ? normaliseConfig(current.type, current.role, checkConfig(current.type, current.role, merged), deps) : current.config
  if (patch.scheduleCron !== undefined) checkScheduleAllowed(current.type, current.role, patch.scheduleCron)
  const scheduleCron = patch.scheduleCron !== undefined ? validateSourceCron(patch.scheduleCron, agent.timezone) : current.scheduleCron
  const autoPush = patch.autoPush ?? current.autoPush
  if (autoPush && current.role !== 'RESULTS_SINK') {
    throw new AppError('VALIDATION_FAILED', 'autoPush applies to results sinks only.', { details: { field: 'autoPush' } })
  }
  if (autoPush && !current.autoPush) requireRecentTest(current)

  if (configChanged) await checkSecretRefs(deps, deps.db, orgId, current, config)
  const validate = patch.validate !== false && (configChanged || patch.validate === true)
  if (validate) await validationPing(deps, orgId, current.type, current.role, config)
  const enabled = patch.enabled ?? current.enabled
  const fields: SourceFields = {
    name: patch.name?.trim() ?? current.name,
    config,
    scheduleCron,
    enabled,
    autoPush,
    validatedAt: validate ? new Date() : (configChanged ? null : (current.validatedAt ? new Date(current.validatedAt) : null)),
    validationSkipped: configChanged || patch.validate !== undefined ? !validate : current.validationSkipped,
    nextPullAt: computeNextPullAt({ role: current.role, type: current.type, enabled, scheduleCron }, agent, new Date()),
  }
  const updated = await deps.db.transaction(async (tx) => {
    if (configChanged) await checkSecretRefs(deps, tx, orgId, current, config)
    const result = await updateSource(tx, orgId, sourceId, fields)
    if (result && actor) {
      const changes = diff(current, result, SOURCE_FIELDS)
      await recordAudit(tx, actor, { action: 'update', resourceType: 'data_source', resourceId: sourceId, changes })
    }
    return result
  })
  if (!updated) throw sourceNotFound()
  return updated
}
