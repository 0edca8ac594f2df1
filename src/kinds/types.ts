import type { TSchema } from 'typebox'
import type { Transport } from '../connectors/transport.js'
import type { Deps } from '../deps.js'
import type { DataSource, SourceConfig } from '../domain/source.js'
import type { AttemptOutcome } from '../push/delivery.js'
import type { ResultFormat } from '../results/format.js'
import type { SecretType } from '../vault/secret.js'
import type { Checklist } from './checklist.js'

/**
 * A source kind is a plugin (docs/extending.md): one folder under src/kinds/ exporting one
 * KindDescriptor, and one line in src/kinds/registry.ts. The pull, the ledger, the manifest, the
 * push, the preview, the Test and the scheduler are written against this interface and the
 * Transport (src/connectors/transport.ts) only; none of them names a kind.
 */

/** What a kind needs to reach its target: the database (secrets), the vault, the network policy, timeouts. */
export type KindDeps = Pick<Deps, 'db' | 'vault' | 'policy' | 'config'>

/** A config field that names a vault entry. */
export interface SecretRefSpec {
  /** the config field holding the secret's id, e.g. "secretRef" */
  field: string
  /** the type the secret must have (src/vault/types/registry.ts) */
  secretType: SecretType
  /** absent from the config is refused by the schema when required; optional refs are checked when present */
  required: boolean
}

/**
 * A secret's value to use instead of the stored one: a new value for a secret in use is tried on
 * every source that uses it before it is stored (docs/security.md).
 */
export interface SecretOverride { id: string, value: unknown }

/**
 * Set by the pull only (not the Test or the preview): which source's ledger the listing is for. A
 * kind that polls one file (HTTPS) sends the newest ledgered validator of it back, so an
 * unchanged file is not downloaded again.
 */
export interface PullContext { sourceId: string }

/** Where a pulled kind's files are, as the shared pull, Test and preview speak of it. */
export interface FileLocation {
  /** how a person names the place, lower case: `prefix "daily/"`, `path "/out"` */
  label: string
  /** what one listed file is called in messages: "object", "file", "blob" */
  noun: string
  /**
   * the key below the location (what `config.pattern` matches, and whose extension names the file's
   * type), or null when the key is not under it; for a URL key, its path (the query is not a name)
   */
  relative (key: string): string | null
}

/** What a kind does in one role. `C` is the config of that (type, role). */
export interface RoleDescriptor<C extends SourceConfig> {
  /**
   * The TypeBox schema of `config` for this (type, role), every field described: it is checked on
   * every create/update and is the member of the OpenAPI's discriminated union of configs.
   */
  config: TSchema
  /** the config fields that name vault entries, and the type each must have */
  secrets: readonly SecretRefSpec[]
  /**
   * Defaults and checks beyond the schema that need no network (e.g. the private-network rule on
   * an endpoint). Throws VALIDATION_FAILED or SOURCE_VALIDATION_FAILED naming `details.field`.
   */
  normalise? (config: C, deps: Pick<Deps, 'policy'>): C
  /**
   * The save-time validation ping (docs/security.md). Throws SOURCE_VALIDATION_FAILED naming the
   * field a person should fix (`details.field`, `details.reason`). Absent: nothing to ping.
   */
  ping? (deps: KindDeps, orgId: string, config: C, override?: SecretOverride): Promise<void>
  /** POST …/test: the read-only checklist, one step a person can act on per line */
  test (deps: Deps, source: DataSource, list: Checklist): Promise<void>
}

export interface InventoryRole<C extends SourceConfig = SourceConfig> extends RoleDescriptor<C> {
  /**
   * true: Ferry fetches the files (the shared pull over the kind's transport), on the agent's or the
   * source's schedule and on "Pull now"; the kind must have `withTransport` and `location`.
   * false: files are sent to Ferry (inbound webhook); nothing to schedule, pull or preview.
   */
  pulled: boolean
  /** a kind that is not pulled: why its preview has no file (NO_FILE_TO_PREVIEW) */
  noPreview?: string
  /** a secret Ferry creates when the config names none at creation (returned once, as `signingSecret`) */
  generatedSecret?: { field: string, secretType: SecretType, name: (sourceName: string) => string }
  /** fields the API answer carries next to the config (e.g. an inbound webhook's receiveUrl) */
  present? (deps: Pick<Deps, 'config'>, source: DataSource): Record<string, unknown>
}

export interface SinkRole<C extends SourceConfig = SourceConfig> extends RoleDescriptor<C> {
  /** the result format when the config names none */
  defaultFormat: ResultFormat
  /**
   * Where a job's results go: `key` is recorded in the manifest (kinds with a transport put the
   * file there: `{prefix}/job-{jobId}.{format}`), `describe` is how messages name the target.
   */
  target (config: C, jobId: string, format: ResultFormat): { key: string, describe: string }
  /**
   * One delivery attempt, for a sink that is not a file store (the outbound webhook's signed POST).
   * Absent: the results are streamed to `target().key` through the kind's transport (`put`).
   * Returns an AttemptOutcome for any answer or failure of the target; only a lost lease
   * (`beforeSend` throws LEASE_LOST) escapes.
   */
  deliver? (deps: Deps, sink: { orgId: string, config: C },
    attempt: {
      format: ResultFormat, webhookId: string,
      /**
       * The results in `format` as one buffer, refused (RESULTS_TOO_LARGE) over
       * FERRY_WEBHOOK_INLINE_MAX_BYTES; read once for the deliveries of one job claimed together.
       */
      body: () => Promise<Buffer>,
      beforeSend: () => Promise<void>,
    }): Promise<AttemptOutcome>
  /** the manifest entry of a push names its Standard Webhooks `webhook-id` */
  recordsWebhookId?: boolean
}

export interface KindDescriptor<CIn extends SourceConfig = SourceConfig, COut extends SourceConfig = SourceConfig> {
  /** `data_sources.type` and the API's `type` */
  type: string
  /** how a person names the kind in messages ("Only S3 inventory sources …") */
  label: string
  /** the roles the kind supports: absent = refused at creation */
  roles: { INVENTORY_SOURCE?: InventoryRole<CIn>, RESULTS_SINK?: SinkRole<COut> }
  /**
   * Runs `fn` with a transport for the config's target, closing it afterwards (connections,
   * clients holding credentials). Secrets are resolved for this call only; `override` replaces
   * one of them (a new value under trial); `pull` is given by the pull. Absent for kinds that move no files (webhooks).
   */
  withTransport? <T>(
    deps: KindDeps, orgId: string, config: CIn | COut, fn: (transport: Transport) => Promise<T>, override?: SecretOverride, pull?: PullContext,
  ): Promise<T>
  /** the error codes the kind's transport fails with (src/errors.ts), told apart from a file's own failures */
  errorCodes?: readonly string[]
  /** where the files of a pulled kind are (pattern matching, messages) */
  location? (config: CIn | COut): FileLocation
}
