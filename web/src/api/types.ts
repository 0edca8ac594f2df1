// The API's resources, as the TypeBox schemas in src/schemas/*.ts define them (each interface names
// its schema). Keep them in step: `npm run typecheck:web` then shows every view a change touches.

export interface ListResponse<T> { items: T[], nextCursor?: string | null }

export interface ErrorBody { code: string, message: string, details?: Record<string, unknown> }

export interface Agent {
  id: string
  name: string
  scheduleCron: string
  timezone: string
  rules: {
    autoPull: boolean
    autoMap: boolean
    onPullFailure: { pendingItem: boolean, notify: 'all' | string[] }
  }
  mapping?: unknown
  nextRunAt: string | null
  /** in the agents list only */
  health?: AgentHealth
  createdAt: string
  updatedAt?: string
}

export interface AgentHealth {
  sources: number
  lastSyncAt: string | null
  /** the worst status among each source's latest sync; null: no syncs yet */
  lastSyncStatus: SyncStatus | null
  failingSources: number
  openPendingItems: number
}

export type SecretType = 'aws' | 'webhook' | 'http_header' | 'azure'

/** `src/schemas/secrets.ts` Secret */
export interface Secret {
  id: string
  name: string
  type: SecretType
  createdAt: string
  rotatedAt: string | null
  /** each value as `mt_byo_****` + its last four characters (an http_header's name in clear) */
  redacted: Record<string, string>
}

/** POST /secrets answer: a generated webhook signing secret is returned once, here. */
export interface SecretCreated extends Secret {
  signingSecret?: string
}

export type SourceRole = 'INVENTORY_SOURCE' | 'RESULTS_SINK'
/** a source kind's type (web/src/kinds/registry.tsx lists the ones the UI has a form for) */
export type SourceType = string
export type FileFormat = 'csv' | 'json' | 'ndjson' | 'xlsx'

export interface S3Config {
  bucket: string
  prefix: string
  region: string
  secretRef: string
  endpoint?: string
  forcePathStyle?: boolean
  pattern?: string
  format?: FileFormat
}

export interface WebhookConfig {
  /** outbound only */
  url?: string
  /** inbound: the signing secret (type webhook); outbound: optional, for signing */
  secretRef?: string
  /** outbound only: an http_header secret sent with each delivery */
  headerSecretRef?: string
  format?: FileFormat
}

/** What `redactedSecrets` holds per config field: the secret's listing fields. */
export type SecretSummary = Pick<Secret, 'id' | 'name' | 'type' | 'redacted'>

/** `src/schemas/sources.ts` DataSource */
export interface DataSource {
  id: string
  agentId: string
  name: string
  role: SourceRole
  type: SourceType
  config: S3Config & WebhookConfig
  scheduleCron: string | null
  /** scheduleCron ?? the agent's, for S3 inventory sources; null for everything not pulled on a schedule */
  effectiveScheduleCron: string | null
  enabled: boolean
  autoPush: boolean
  validatedAt: string | null
  /** created or changed with `validate: false` */
  validationSkipped: boolean
  lastTestAt: string | null
  lastTestOk: boolean | null
  lastSyncedAt: string | null
  nextPullAt: string | null
  lastSync?: { id: string, status: SyncStatus, startedAt: string, finishedAt: string | null } | null
  /** the secrets the config refers to, by config field, redacted */
  redactedSecrets?: Partial<Record<'secretRef' | 'headerSecretRef', SecretSummary>>
  /** inbound webhooks: the path senders POST files to */
  receiveUrl?: string
  /** only in the creation answer, when Ferry generated the inbound webhook's signing secret */
  signingSecret?: string
  createdAt: string
  updatedAt: string
}

/** `retrying`: a push waiting for its next attempt; `cancelled`: stopped by an operator */
export type SyncStatus = 'running' | 'retrying' | 'succeeded' | 'partial' | 'failed' | 'cancelled'

/** One delivery attempt of a push (`src/push/service.ts`), oldest first. */
export interface ManifestAttempt {
  attempt: number
  /** null when the worker stopped before it recorded the attempt */
  at: string | null
  /** HTTP status of the answer (webhooks), null without one */
  status: number | null
  durationMs?: number
  /** the answer's media type and length; its body is never kept (docs/security.md) */
  contentType?: string | null
  contentLength?: number | null
  outcome: 'delivered' | 'retrying' | 'failed' | 'disabled' | 'unknown' | string
  error?: string
  code?: string
  retryAfterMs?: number
  nextAttemptAt?: string
}

/** `src/schemas/sources.ts` ManifestEntry (+ the push fields of outbound syncs) */
export interface ManifestEntry {
  key: string
  etag: string | null
  size: number | null
  lastModified: string | null
  format: string | null
  status: 'ingested' | 'rejected' | 'skipped' | 'failed' | 'delivered'
  rowsAccepted: number
  rowsRejected: number
  uploadId?: string | null
  /** why a file was skipped or failed */
  reason?: string
  /** the first rejected rows (at most 100) */
  errors?: Array<{ row?: number, message: string }>
  /** why a file was refused whole: NO_ROWS, NO_SKU_COLUMN, PARSE_FAILED, … */
  code?: string
  /** a file that landed with something to check (docs/formats.md): UNMAPPED_COLUMNS, ENCODING_FALLBACK, PARSE_WARNING */
  warnings?: FileWarning[]
  /** outbound: every delivery attempt */
  attempts?: ManifestAttempt[]
  /** outbound: when the next attempt is due while the push is retrying */
  nextAttemptAt?: string | null
  /** outbound: delivery state (delivered, retrying, failed, disabled) */
  state?: string
  jobId?: string
}

export interface FileWarning { code: string, message: string, columns?: string[] }

/** `src/schemas/preview.ts` Preview: a file read as it would land, nothing stored */
export interface Preview {
  file: { key: string, size: number, format: string, encoding: string | null, sheet?: string }
  sheets?: string[]
  columns: Array<{ header: string, field: string | null }>
  rows: Array<{
    row: number, sku: string, name: string | null, quantity: number | null, price: number | null, currency: string | null, location: string | null
    attributes: Record<string, unknown>
  }>
  rejected: Array<{ row: number, reason: string }>
  warnings: FileWarning[]
  error?: { code: string, message: string }
}

export interface SyncProgress {
  filesListed?: number
  filesDone?: number
  filesTotal?: number
  bytesDone?: number
  bytesTotal?: number
}

/** `src/schemas/sources.ts` Sync */
export interface Sync {
  id: string
  sourceId: string
  direction: 'inbound' | 'outbound'
  trigger: 'schedule' | 'manual' | 'webhook' | 'job_complete'
  status: SyncStatus
  startedAt: string
  finishedAt: string | null
  durationMs: number | null
  filesCount: number
  bytes: number
  rowsAccepted: number
  rowsRejected: number
  error?: { code: string, message: string } | null
  /** live counters of a running pull */
  progress?: SyncProgress | null
  /** only from GET …/syncs/{syncId} */
  manifest?: ManifestEntry[]
  /** pushes: attempts made so far, and when the next one is due */
  attempt?: number
  nextAttemptAt?: string | null
}

export interface TestCheck { name: string, ok: boolean, message: string, durationMs: number }
export interface TestResult { ok: boolean, checks: TestCheck[] }

/** `src/schemas/jobs.ts` Job */
export interface MappingJob {
  id: string
  agentId: string
  uploadId: string
  /** the file the job maps and the source it came from (null: a manual upload) */
  upload?: { fileName: string, sourceId: string | null, sourceName: string | null }
  status: 'queued' | 'running' | 'succeeded' | 'failed'
  trigger: 'manual' | 'auto_map'
  rows: number
  columns: string[]
  error: { code: string, message: string } | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

/** `src/schemas/pending-items.ts` PendingItem */
export interface PendingItem {
  id: string
  agentId: string
  sourceId: string
  type: 'DATA_SOURCE_PULL_FAILED' | 'DATA_SOURCE_PUSH_FAILED'
  status: 'open' | 'resolved'
  message: string
  occurrences: number
  firstSeenAt: string
  lastSeenAt: string
  resolvedAt: string | null
  resolution: 'manual' | 'auto' | null
}

export type ChannelType = 'slack' | 'webhook' | 'email'

/** `src/schemas/channels.ts` Channel: slack { url (redacted) }, webhook { url, secretRef? }, email { to } */
export interface Channel {
  id: string
  agentId: string
  name: string
  type: ChannelType
  config: { url?: string, secretRef?: string, to?: string[] } & Record<string, unknown>
  redactedSecrets?: { secretRef?: SecretSummary }
  createdAt: string
}

export interface ChannelTestResult { ok: boolean, status?: number, message: string }

/** `GET …/channels/{cid}/deliveries` */
export interface ChannelDelivery {
  id: string
  itemId: string
  event: 'opened' | 'resolved'
  status: 'queued' | 'delivered' | 'failed'
  attempts: number
  lastError: string | null
  lastStatus: number | null
  createdAt: string
  updatedAt: string
  deliveredAt: string | null
}

/** `src/schemas/api-keys.ts` RoleSchema: viewer reads; operator runs feeds and edits agents and sources; admin does everything */
export type Role = 'viewer' | 'operator' | 'admin'

/** `src/schemas/api-keys.ts` ApiKey */
export interface ApiKey {
  id: string
  name: string
  role: Role
  /** the key's last four characters, shown to admin keys only */
  hint?: string
  isInstanceAdmin: boolean
  createdAt: string
  lastUsedAt: string | null
  expiresAt: string | null
}

/** POST /api-keys answer: the plaintext key, returned once */
export interface ApiKeyCreated { apiKey: string, key: ApiKey }

/** `src/schemas/api-keys.ts` Me: the signed-in key */
export interface Me {
  org: { id: string, name: string }
  apiKey: { id: string, name: string, role: Role, isInstanceAdmin: boolean, expiresAt: string | null }
}

/** `src/schemas/api-keys.ts` AuditEntry */
export interface AuditEntry {
  id: string
  at: string
  /** apiKeyId null: the ferry CLI on the database host */
  actor: { apiKeyId: string | null, name: string, role: Role }
  action: string
  resourceType: string
  resourceId: string
  changes?: Record<string, { before?: unknown, after?: unknown }>
}

/** `src/schemas/uploads.ts` Upload */
export interface Upload {
  id: string
  agentId: string
  sourceId: string | null
  syncId: string | null
  fileName: string
  format: string | null
  encoding: string | null
  bytes: number
  rowsAccepted: number
  rowsRejected: number
  status: 'ingested' | 'rejected'
  error: { code: string, message: string } | null
  warnings: string[]
  createdAt: string
  /** the first 100 rejected rows (one upload's GET only) */
  rejectedRows?: Array<{ row: number, reason: string }>
}
