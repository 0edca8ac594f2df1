import type { DataSource, SourceConfig, SourceRole } from '../domain/source.js'
import { AppError } from '../errors.js'
import { azureBlobKind } from './azure-blob/index.js'
import { httpsKind } from './https/index.js'
import { s3Kind } from './s3/index.js'
import { sftpKind } from './sftp/index.js'
import type { SecretType } from '../vault/secret.js'
import type { InventoryRole, KindDescriptor, SinkRole } from './types.js'
import { webhookKind } from './webhook/index.js'

/**
 * Every source kind Ferry knows, one line each (docs/extending.md). The API's `type`, the OpenAPI's
 * config union, the scheduler's list of pulled kinds and the Test all come from here.
 */
const KINDS: readonly KindDescriptor[] = [
  s3Kind as KindDescriptor,
  sftpKind as KindDescriptor,
  webhookKind as KindDescriptor,
  azureBlobKind as KindDescriptor,
  httpsKind as KindDescriptor,
]

const byType = new Map(KINDS.map(k => [k.type, k]))

export const kinds = (): readonly KindDescriptor[] => KINDS
export const KIND_TYPES: readonly string[] = KINDS.map(k => k.type)

/** The kind of a type; a type this build does not know is a bug (the API refuses it before anything is stored). */
export function kindOf (type: string): KindDescriptor {
  const kind = byType.get(type)
  if (!kind) throw new AppError('VALIDATION_FAILED', `type must be one of ${KIND_TYPES.join(', ')}.`, { details: { field: 'type' } })
  return kind
}

/** The descriptor of a (type, role); 400 naming `type` when the kind has no such role. */
export function roleOf (type: string, role: 'INVENTORY_SOURCE'): InventoryRole
export function roleOf (type: string, role: 'RESULTS_SINK'): SinkRole
export function roleOf (type: string, role: SourceRole): InventoryRole | SinkRole
export function roleOf (type: string, role: SourceRole): InventoryRole | SinkRole {
  const kind = kindOf(type)
  const descriptor = kind.roles[role]
  if (!descriptor) {
    const as = role === 'INVENTORY_SOURCE' ? 'an inventory source' : 'a results sink'
    throw new AppError('VALIDATION_FAILED', `A ${kind.label} data source cannot be ${as}.`, { details: { field: 'role' } })
  }
  return descriptor
}

/** Pulled by Ferry (on a schedule and by "Pull now"): an inventory source of a kind whose files Ferry fetches. */
export const isPulled = (source: Pick<DataSource, 'type' | 'role'>): boolean =>
  source.role === 'INVENTORY_SOURCE' && byType.get(source.type)?.roles.INVENTORY_SOURCE?.pulled === true

/** The types whose inventory sources are pulled (the scheduler's SQL takes them as a parameter). */
export const PULLED_TYPES: readonly string[] = KINDS.filter(k => k.roles.INVENTORY_SOURCE?.pulled).map(k => k.type)

/** "S3" or "S3, SFTP or Azure Blob": the pulled kinds, as messages name them. */
export const pulledLabels = (): string => {
  const labels = KINDS.filter(k => k.roles.INVENTORY_SOURCE?.pulled).map(k => k.label)
  return labels.length <= 1 ? labels.join('') : `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}`
}

/** Every vault entry a source's config refers to, with the type it must have. */
export function secretRefsOf (
  source: Pick<DataSource, 'type' | 'role'>, config: SourceConfig,
): Array<{ field: string, id: string, type: SecretType }> {
  const values = config as Record<string, unknown>
  return roleOf(source.type, source.role).secrets
    .filter(ref => typeof values[ref.field] === 'string' && values[ref.field] !== '')
    .map(ref => ({ field: `config.${ref.field}`, id: values[ref.field] as string, type: ref.secretType }))
}
