import { AzureBlobConfig } from './azure-blob/config.js'
import { HttpsConfig } from './https/config.js'
import { S3Config } from './s3/config.js'
import { SftpConfig } from './sftp/config.js'
import { InboundWebhookConfig, OutboundWebhookConfig } from './webhook/config.js'

/**
 * Each kind's `config` schema per role, as plain data: the API schemas (src/schemas/sources.ts) and
 * through them the web UI's types read this module, which must not import server code (the
 * registry's descriptors do). The registry's descriptors use these same schema objects; a unit test
 * (test/unit/kinds/registry.test.ts) keeps the two lists in step.
 */
export const KIND_CONFIGS = {
  s3: { INVENTORY_SOURCE: S3Config, RESULTS_SINK: S3Config },
  webhook: { INVENTORY_SOURCE: InboundWebhookConfig, RESULTS_SINK: OutboundWebhookConfig },
  azure_blob: { INVENTORY_SOURCE: AzureBlobConfig, RESULTS_SINK: AzureBlobConfig },
  https: { INVENTORY_SOURCE: HttpsConfig },
  sftp: { INVENTORY_SOURCE: SftpConfig, RESULTS_SINK: SftpConfig },
} as const

export type KindType = keyof typeof KIND_CONFIGS
export const KIND_TYPES = Object.keys(KIND_CONFIGS) as KindType[]
