import { validateCron, validateTimezone } from './schedule.js'

export interface AgentRules {
  autoPull: boolean
  autoMap: boolean
  onPullFailure: { pendingItem: boolean, notify: 'all' | string[] }
}

export interface OutputColumn { column: string, from: string, transform?: 'upper' | 'lower' | 'trim' | 'number' | 'string' }

export interface AgentMapping {
  /** canonical field → column name in the customer's files, e.g. { sku: "Item No" } */
  fieldMap: Partial<Record<CanonicalField, string>>
  /** result projection; empty → the canonical fields */
  output: OutputColumn[]
}

export const CANONICAL_FIELDS = ['sku', 'name', 'quantity', 'price', 'currency', 'location'] as const
export type CanonicalField = typeof CANONICAL_FIELDS[number]

export const DEFAULT_CRON = '0 * * * *'
export const DEFAULT_TIMEZONE = 'UTC'

export interface AgentInput {
  name?: string
  scheduleCron?: string
  timezone?: string
  rules?: Partial<Omit<AgentRules, 'onPullFailure'>> & { onPullFailure?: Partial<AgentRules['onPullFailure']> }
  /** `fieldMap: null` clears the field map */
  mapping?: { fieldMap?: AgentMapping['fieldMap'] | null, output?: OutputColumn[] }
}

export function resolveRules (input: AgentInput['rules'], base?: AgentRules): AgentRules {
  return {
    autoPull: input?.autoPull ?? base?.autoPull ?? true,
    autoMap: input?.autoMap ?? base?.autoMap ?? true,
    onPullFailure: {
      pendingItem: input?.onPullFailure?.pendingItem ?? base?.onPullFailure.pendingItem ?? true,
      notify: input?.onPullFailure?.notify ?? base?.onPullFailure.notify ?? 'all',
    },
  }
}

export function resolveMapping (input: AgentInput['mapping'], base?: AgentMapping): AgentMapping {
  const fieldMap = input?.fieldMap === null ? {} : input?.fieldMap ?? base?.fieldMap ?? {}
  return {
    fieldMap: Object.fromEntries(Object.entries(fieldMap).filter(([, column]) => typeof column === 'string')),
    output: input?.output ?? base?.output ?? [],
  }
}

/**
 * Applies defaults (create) or merges over the stored agent (update) and validates what a schema
 * cannot: the cron pattern and the IANA timezone. Nested objects merge field by field, so a PATCH
 * of `rules.autoPull` keeps the rest of the rule set.
 */
export function resolveAgent (input: AgentInput, base?: { name: string, scheduleCron: string, timezone: string, rules: AgentRules, mapping: AgentMapping }) {
  const timezone = validateTimezone(input.timezone ?? base?.timezone ?? DEFAULT_TIMEZONE)
  return {
    name: (input.name ?? base?.name ?? '').trim(),
    timezone,
    scheduleCron: validateCron(input.scheduleCron ?? base?.scheduleCron ?? DEFAULT_CRON, timezone),
    rules: resolveRules(input.rules, base?.rules),
    mapping: resolveMapping(input.mapping, base?.mapping),
  }
}
