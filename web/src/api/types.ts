// The API's resources as SPEC §2/§4 describe them. Fields the UI only reads when present are
// optional, so a view keeps working while an endpoint is still being built.

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
  createdAt: string
  updatedAt?: string
}

export type SecretType = 'aws' | 'webhook' | 'http_header'

export interface Secret {
  id: string
  name: string
  type: SecretType
  createdAt: string
  rotatedAt?: string | null
  /** each value as `mt_byo_****` + its last four characters */
  redacted: Record<string, string>
}

/** POST /secrets answer: a generated webhook signing secret is returned once, here. */
export interface SecretCreated extends Secret {
  value?: { signingSecret?: string }
  signingSecret?: string
}

export type SourceRole = 'INVENTORY_SOURCE' | 'RESULTS_SINK'
export type SourceType = 's3' | 'webhook'
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

export interface DataSource {
  id: string
  agentId: string
  name: string
  role: SourceRole
  type: SourceType
  config: S3Config & WebhookConfig
  scheduleCron: string | null
  enabled: boolean
  autoPush?: boolean
  lastSyncedAt: string | null
  nextPullAt: string | null
  createdAt: string
  /** the last sync, if the API embeds it */
  lastSync?: Pick<Sync, 'id' | 'status' | 'startedAt' | 'finishedAt'> | null
  /** scheduleCron ?? the agent's (null for sources that are not pulled on a schedule) */
  effectiveScheduleCron?: string | null
  lastTestAt?: string | null
  lastTestOk?: boolean | null
  validationSkipped?: boolean
  /** the secrets the config refers to, by config field, redacted */
  redactedSecrets?: Partial<Record<'secretRef' | 'headerSecretRef', Pick<Secret, 'id' | 'name' | 'type' | 'redacted'>>>
  /** inbound webhooks: the path senders POST files to */
  receiveUrl?: string
  /** only in the creation answer, when Ferry generated the inbound webhook's signing secret */
  signingSecret?: string
}

export type SyncStatus = 'running' | 'succeeded' | 'partial' | 'failed'

export interface ManifestAttempt {
  attempt?: number
  at?: string
  startedAt?: string
  status?: number | string
  statusCode?: number
  httpStatus?: number
  ok?: boolean
  error?: string
  message?: string
  durationMs?: number
  nextAttemptAt?: string | null
}

export interface ManifestEntry {
  key: string
  etag?: string | null
  size?: number | null
  bytes?: number | null
  lastModified?: string | null
  format?: string | null
  status: 'ingested' | 'rejected' | 'skipped' | 'failed' | 'delivered' | string
  rowsAccepted?: number
  rowsRejected?: number
  uploadId?: string
  /** why a file was skipped or failed */
  reason?: string
  errors?: Array<{ row?: number, message: string }>
  attempts?: number | ManifestAttempt[]
  nextAttemptAt?: string | null
}

export interface Sync {
  id: string
  sourceId: string
  direction: 'inbound' | 'outbound'
  trigger: 'schedule' | 'manual' | 'webhook' | 'job_complete'
  status: SyncStatus
  startedAt: string
  finishedAt: string | null
  filesCount: number
  bytes: number
  rowsAccepted: number
  rowsRejected: number
  durationMs?: number | null
  error?: string | { code?: string, message: string } | null
  /** live counters of a running sync, if the API reports them */
  progress?: Record<string, unknown> | null
  manifest?: ManifestEntry[]
}

export interface TestCheck { name: string, ok: boolean, message: string, durationMs?: number }
export interface TestResult { ok: boolean, checks: TestCheck[] }

export interface MappingJob {
  id: string
  agentId: string
  uploadId: string
  status: 'queued' | 'running' | 'succeeded' | 'failed'
  rows: number
  createdAt: string
  finishedAt: string | null
}

export interface PendingItem {
  id: string
  agentId: string
  sourceId: string
  type: 'DATA_SOURCE_PULL_FAILED' | 'DATA_SOURCE_PUSH_FAILED' | string
  status: 'open' | 'resolved'
  message: string
  occurrences: number
  firstSeenAt: string
  lastSeenAt: string
  resolvedAt?: string | null
  resolution?: 'manual' | 'auto' | null
}

export type ChannelType = 'slack' | 'webhook' | 'email'

export interface Channel {
  id: string
  agentId: string
  type: ChannelType
  name?: string
  config: Record<string, unknown>
  createdAt?: string
}
