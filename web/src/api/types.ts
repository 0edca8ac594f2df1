// The API's resources, derived from the server's TypeBox schemas (src/schemas/*.ts): a change to a
// schema shows up in `npm run typecheck:web` at every view it touches. Type-only imports: nothing of
// the server reaches the bundle. The schema modules import only typebox and plain-value modules, so
// the web's type-check never reads server code (eslint.config.js keeps it so).
// `.js` extensions: the server-side typecheck (node16 resolution) reads this module through the unit tests.
import type { Static } from 'typebox'
import type { Agent as AgentSchema, AgentHealth as AgentHealthSchema } from '../../../src/schemas/agents.js'
import type {
  ApiKey as ApiKeySchema, AuditEntry as AuditEntrySchema, Me as MeSchema, RoleSchema,
} from '../../../src/schemas/api-keys.js'
import type {
  ChannelSchema, ChannelTestResult as ChannelTestResultSchema, Delivery, EmailChannelConfig, SlackChannelConfig, WebhookChannelConfig,
} from '../../../src/schemas/channels.js'
import type { ErrorResponse } from '../../../src/schemas/common.js'
import type { Job } from '../../../src/schemas/jobs.js'
import type { PendingItemSchema } from '../../../src/schemas/pending-items.js'
import type { FileWarning as FileWarningSchema, Preview as PreviewSchema } from '../../../src/schemas/preview.js'
import type { SecretCreated as SecretCreatedSchema, SecretSchema, SecretSummary as SecretSummarySchema } from '../../../src/schemas/secrets.js'
import type {
  ManifestAttempt as ManifestAttemptSchema, ManifestEntry as ManifestEntrySchema, Source, Sync as SyncSchema, SyncProgress as SyncProgressSchema,
  TestResult as TestResultSchema,
} from '../../../src/schemas/sources.js'
import type { Upload as UploadSchema } from '../../../src/schemas/uploads.js'
import type { KIND_CONFIGS } from '../../../src/kinds/configs.js'

/** `ListOf(…)` in src/schemas/common.ts */
export interface ListResponse<T> { items: T[], nextCursor?: string | null }

export type ErrorBody = Static<typeof ErrorResponse>

export type Agent = Static<typeof AgentSchema>
export type AgentHealth = Static<typeof AgentHealthSchema>

export type Secret = Static<typeof SecretSchema>
export type SecretType = Secret['type']
/** POST /secrets answer: a generated webhook signing secret is returned once, here. */
export type SecretCreated = Static<typeof SecretCreatedSchema>
/** What `redactedSecrets` holds per config field. */
export type SecretSummary = Static<typeof SecretSummarySchema>

/** Every kind's config schema for every role (src/kinds/configs.ts). */
type Kinds = typeof KIND_CONFIGS
// a kind may have one role only (https): the roles each kind has
type ConfigSchema = { [K in keyof Kinds]: Kinds[K][keyof Kinds[K]] }[keyof Kinds]
type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never
/**
 * A source's config as the forms edit it: the fields of every kind, each optional (a form switches
 * kinds in place). The API documents the exact config of each (type, role).
 */
type SourceConfig = Partial<Intersection<Static<ConfigSchema>>>
export type DataSource = Omit<Static<typeof Source>, 'config'> & { config: SourceConfig }
export type SourceRole = Static<typeof Source>['role']
export type SourceType = DataSource['type']

export type Sync = Static<typeof SyncSchema>
export type SyncStatus = Sync['status']
export type SyncProgress = Static<typeof SyncProgressSchema>
export type ManifestEntry = Static<typeof ManifestEntrySchema>
export type ManifestAttempt = Static<typeof ManifestAttemptSchema>
export type FileWarning = Static<typeof FileWarningSchema>
export type Preview = Static<typeof PreviewSchema>

export type TestResult = Static<typeof TestResultSchema>
export type TestCheck = TestResult['checks'][number]

export type MappingJob = Static<typeof Job>

export type PendingItem = Static<typeof PendingItemSchema>

/** The config of each channel type: slack { url (shown redacted) }, webhook { url, secretRef? }, email { to } */
type ChannelConfig = Partial<Static<typeof SlackChannelConfig> & Static<typeof WebhookChannelConfig> & Static<typeof EmailChannelConfig>>
export type Channel = Omit<Static<typeof ChannelSchema>, 'config'> & { config: ChannelConfig }
export type ChannelType = Channel['type']
export type ChannelTestResult = Static<typeof ChannelTestResultSchema>
/** `GET …/channels/{cid}/deliveries` */
export type ChannelDelivery = Static<typeof Delivery>

/** viewer reads; operator runs feeds and edits agents and sources; admin does everything */
export type Role = Static<typeof RoleSchema>
export type ApiKey = Static<typeof ApiKeySchema>
/** POST /api-keys answer: the plaintext key, returned once */
export interface ApiKeyCreated { apiKey: string, key: ApiKey }
/** the signed-in key */
export type Me = Static<typeof MeSchema>
export type AuditEntry = Static<typeof AuditEntrySchema>

export type Upload = Static<typeof UploadSchema>
