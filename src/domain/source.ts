import picomatch from 'picomatch'
import { AppError } from '../errors.js'
import type { FileFormat } from '../formats/types.js'
import type { ParseSettings } from '../formats/parse-options.js'
import type { CanonicalField } from './agent.js'
import { nextRunAfter, validateCron } from './schedule.js'

export type SourceRole = 'INVENTORY_SOURCE' | 'RESULTS_SINK'
export type SourceType = 's3' | 'webhook'

export interface S3Config {
  bucket: string
  prefix: string
  region: string
  secretRef: string
  endpoint?: string
  forcePathStyle?: boolean
  /** glob on the key below the prefix, e.g. "**\/*.csv" */
  pattern?: string
  format?: FileFormat
  /** inventory sources: how to read the files (docs/formats.md) */
  parse?: ParseSettings
  /** inventory sources: canonical field → column, over the agent's mapping.fieldMap */
  fieldMap?: Partial<Record<CanonicalField, string>>
}

export interface InboundWebhookConfig {
  secretRef: string
  format?: FileFormat
  parse?: ParseSettings
  fieldMap?: Partial<Record<CanonicalField, string>>
}

/** What an inventory source says about reading its files (both kinds that receive files carry it). */
export const importOptionsOf = (config: SourceConfig): Pick<S3Config, 'parse' | 'fieldMap' | 'format'> => config as S3Config

/**
 * A JSON merge patch (RFC 7396) of a config: objects merge key by key, `null` removes a key, anything
 * else replaces. So `{ "parse": { "sheet": null } }` clears one option and keeps the others.
 */
export function mergeConfigPatch (base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '__proto__') continue
    if (value === null) delete out[key]
    else if (isPlainObject(value) && isPlainObject(out[key])) out[key] = mergeConfigPatch(out[key] as Record<string, unknown>, value)
    else out[key] = value
  }
  return out
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
export interface OutboundWebhookConfig { url: string, secretRef?: string, headerSecretRef?: string, format?: FileFormat }

export type SourceConfig = S3Config | InboundWebhookConfig | OutboundWebhookConfig

export interface DataSource {
  id: string
  orgId: string
  agentId: string
  name: string
  role: SourceRole
  type: SourceType
  config: SourceConfig
  scheduleCron: string | null
  enabled: boolean
  autoPush: boolean
  validatedAt: string | null
  validationSkipped: boolean
  lastTestAt: string | null
  lastTestOk: boolean | null
  lastSyncedAt: string | null
  nextPullAt: string | null
  createdAt: string
  updatedAt: string
}

export const isS3 = (s: Pick<DataSource, 'type'>, c: SourceConfig): c is S3Config => s.type === 's3'
export const isInbound = (s: Pick<DataSource, 'type' | 'role'>) => s.type === 'webhook' && s.role === 'INVENTORY_SOURCE'
export const isOutboundWebhook = (s: Pick<DataSource, 'type' | 'role'>) => s.type === 'webhook' && s.role === 'RESULTS_SINK'

/** Every vault entry a source's config refers to, with the type it must have. */
export function secretRefsOf (
  source: Pick<DataSource, 'type' | 'role'>,
  config: SourceConfig
): Array<{ field: string, id: string, type: 'aws' | 'webhook' | 'http_header' }> {
  if (source.type === 's3') return [{ field: 'config.secretRef', id: (config as S3Config).secretRef, type: 'aws' }]
  const refs: Array<{ field: string, id: string, type: 'aws' | 'webhook' | 'http_header' }> = []
  const c = config as InboundWebhookConfig & OutboundWebhookConfig
  if (c.secretRef) refs.push({ field: 'config.secretRef', id: c.secretRef, type: 'webhook' })
  if (c.headerSecretRef) refs.push({ field: 'config.headerSecretRef', id: c.headerSecretRef, type: 'http_header' })
  return refs
}

/** Normalises an S3 prefix: no leading slash; "" or ending in "/" unless the user means a key prefix. */
export const normalisePrefix = (prefix: string | undefined): string => (prefix ?? '').replace(/^\/+/, '')

export function compilePattern (pattern: string | undefined): (relativeKey: string) => boolean {
  if (!pattern) return () => true
  return picomatch(pattern, { dot: true })
}

export function validatePattern (pattern: string | undefined): void {
  if (!pattern) return
  try {
    picomatch.makeRe(pattern)
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', `config.pattern "${pattern}" is not a valid glob: ${(err as Error).message}`, {
      details: { field: 'config.pattern' }
    })
  }
}

/** The schedule a source follows: its own cron, or its agent's, in the agent's timezone. */
export function effectiveCron (source: Pick<DataSource, 'scheduleCron'>, agent: { scheduleCron: string }): string {
  return source.scheduleCron ?? agent.scheduleCron
}

export function validateSourceCron (cron: string | null | undefined, timezone: string): string | null {
  if (cron === null || cron === undefined) return null
  return validateCron(cron, timezone)
}

/**
 * When the scheduler should next pull this source; null when it is never pulled on a schedule
 * (sinks, inbound webhooks, disabled sources, agents without autoPull).
 */
export function computeNextPullAt (
  source: Pick<DataSource, 'role' | 'type' | 'enabled' | 'scheduleCron'>,
  agent: { scheduleCron: string, timezone: string, rules: { autoPull: boolean } },
  after: Date
): Date | null {
  if (source.role !== 'INVENTORY_SOURCE' || source.type !== 's3' || !source.enabled || !agent.rules.autoPull) return null
  return nextRunAfter(effectiveCron(source, agent), agent.timezone, after)
}

/** Where senders POST to an inbound webhook source: absolute under FERRY_PUBLIC_URL, else the path (docs/inbound-webhooks.md). */
export const receiveUrlOf = (publicUrl: string | undefined, sourceId: string): string => `${publicUrl ?? ''}/api/v1/inbound/${sourceId}`
