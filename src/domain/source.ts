import picomatch from 'picomatch'
import { AppError } from '../errors.js'
import type { FileFormat } from '../formats/catalogue.js'
import type { ParseSettings } from '../formats/parse-options.js'
import type { CanonicalField } from './agent.js'
import { validateCron } from './schedule.js'

export type SourceRole = 'INVENTORY_SOURCE' | 'RESULTS_SINK'
/** A kind's `type` (src/kinds/registry.ts knows which exist). */
export type SourceType = string

/** What an inventory source says about reading its files (docs/formats.md), in whatever kind. */
export interface ImportOptionsConfig {
  format?: FileFormat
  /** inventory sources: how to read the files (docs/formats.md) */
  parse?: ParseSettings
  /** inventory sources: canonical field → column, over the agent's mapping.fieldMap */
  fieldMap?: Partial<Record<CanonicalField, string>>
}

/**
 * What shared code reads of any kind's config. Each kind's own fields (bucket, url, host, …) are
 * its folder's business (src/kinds/<type>/config.ts).
 */
export interface SourceConfig extends ImportOptionsConfig {
  /** pulled kinds: glob on the key below the kind's location */
  pattern?: string
  /** sinks: push a job with no result rows too */
  pushEmpty?: boolean
}

/** What an inventory source says about reading its files (every kind that receives files carries it). */
export const importOptionsOf = (config: SourceConfig): ImportOptionsConfig => config

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

/** Normalises a key prefix (S3, Azure): no leading slash; "" or ending in "/" unless the user means a key prefix. */
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

/** Where senders POST to an inbound webhook source: absolute under FERRY_PUBLIC_URL, else the path (docs/inbound-webhooks.md). */
export const receiveUrlOf = (publicUrl: string | undefined, sourceId: string): string => `${publicUrl ?? ''}/api/v1/inbound/${sourceId}`
