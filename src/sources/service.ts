import { Value } from 'typebox/value'
import type { Deps } from '../deps.js'
import type { Queryable } from '../db/client.js'
import { requireAgent } from '../agents/service.js'
import { sourceNotFound, requireSource } from './lookup.js'
import { findSourcesUsingSecret, getSourceById, insertSource, updateSource, type SourceFields } from '../db/sql/sources.js'
import {
  mergeConfigPatch, validateSourceCron, type DataSource, type SourceConfig, type SourceRole, type SourceType,
} from '../domain/source.js'
import { AppError, isAppError } from '../errors.js'
import { isPulled, pulledLabels, roleOf, secretRefsOf } from '../kinds/registry.js'
import { newId } from '../util/ids.js'
import { FORMAT_DESCRIPTORS } from '../formats/catalogue.js'
import { checkParseSettings } from '../formats/parse-options.js'
import { secretTypeOf } from '../vault/types/registry.js'
import { diff, recordAudit, type Actor } from '../audit/audit.js'
import { computeNextPullAt } from './next-pull.js'

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

/** Schema check of a config for its (type, role), with the first error named by field. */
function checkConfig (type: SourceType, role: SourceRole, config: Record<string, unknown>): SourceConfig {
  const schema = roleOf(type, role).config
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
  const { parse, fieldMap, ...rest } = config as SourceConfig & { parse?: Record<string, unknown> | null, fieldMap?: Record<string, unknown> | null }
  if (role === 'RESULTS_SINK') {
    const field = parse != null ? 'config.parse' : fieldMap != null ? 'config.fieldMap' : undefined
    if (field) throw new AppError('VALIDATION_FAILED', `${field} applies to inventory sources only.`, { details: { field } })
    const format = FORMAT_DESCRIPTORS.find(d => d.format === config.format)
    if (format && !format.results) {
      throw new AppError('VALIDATION_FAILED', `Results are written as ${RESULT_LABELS}, not ${format.label}.`, { details: { field: 'config.format' } })
    }
    return rest as SourceConfig
  }
  const settings = checkParseSettings(parse ?? undefined, 'config.parse')
  const fields = Object.entries(fieldMap ?? {}).filter(([, column]) => typeof column === 'string')
  return { ...rest, ...(settings ? { parse: settings } : {}), ...(fields.length > 0 ? { fieldMap: Object.fromEntries(fields) } : {}) } as SourceConfig
}

/** "CSV, JSON, NDJSON or XLSX" */
const RESULT_LABELS = ((labels: string[]) => `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`)(
  FORMAT_DESCRIPTORS.filter(d => d.results).map(d => d.label))

/** Defaults and checks that need no network: the shared import options, then the kind's own. */
function normaliseConfig (type: SourceType, role: SourceRole, checked: SourceConfig, deps: Pick<Deps, 'policy'>): SourceConfig {
  const config = normaliseImportOptions(role, checked)
  const descriptor = roleOf(type, role)
  return descriptor.normalise ? descriptor.normalise(config, deps) : config
}

/**
 * The save-time validation ping (docs/security.md), the kind's: e.g. S3 → ListObjectsV2 MaxKeys=1 on
 * bucket+prefix; outbound webhook → OPTIONS url. Failure → 422 SOURCE_VALIDATION_FAILED naming the field to fix.
 */
export async function validationPing (deps: Deps, orgId: string, type: SourceType, role: SourceRole, config: SourceConfig): Promise<void> {
  await roleOf(type, role).ping?.(deps, orgId, config)
}

/**
 * A new value for a secret in use is validated before it is stored (docs/security.md): every
 * source or sink that uses it is pinged with the new value, when its type says a ping tries it
 * (credentials do; a signing secret does not change what a ping sees). A failure that is the
 * secret's (the ping names the field that refers to it) names the source and answers 422.
 */
export async function validateSecretChange (deps: Deps, orgId: string, secretId: string, newValue: unknown): Promise<void> {
  const secret = await deps.vault.get(orgId, secretId)
  if (!secretTypeOf(secret.type).triedBySourcePing || newValue === undefined) return
  for (const user of await findSourcesUsingSecret(deps.db, orgId, secretId)) {
    const source = await getSourceById(deps.db, user.id)
    const ping = source && roleOf(source.type, source.role).ping
    if (!source || !ping) continue
    const fields = secretRefsOf(source, source.config).filter(ref => ref.id === secretId).map(ref => ref.field)
    try {
      await ping(deps, orgId, source.config, { id: secretId, value: newValue })
    } catch (err) {
      if (!isAppError(err) || err.code !== 'SOURCE_VALIDATION_FAILED') throw err
      // only the secret is on trial: a source broken for another reason (its bucket is gone)
      // must not block fixing a key
      if (!fields.includes(err.details?.field as string)) continue
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
  if (cron != null && !isPulled({ type, role })) {
    throw new AppError('VALIDATION_FAILED', `Only ${pulledLabels()} inventory sources are pulled on a schedule; leave scheduleCron null.`, {
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
  await checkSecretRefs(deps, deps.db, orgId, { type, role }, config)
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
  const generate = role === 'INVENTORY_SOURCE' ? roleOf(type, role).generatedSecret : undefined
  if (generate && !(config as Record<string, unknown>)[generate.field]) {
    const created = await deps.vault.create(orgId, { name: generate.name(input.name), type: generate.secretType }, actor)
    generatedSigningSecret = created.generatedSigningSecret?.reveal()
    config = { ...config, [generate.field]: created.secret.id }
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
