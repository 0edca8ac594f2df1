import { Type, type Static } from 'typebox'
import type { ImportOptionsConfig } from '../../domain/source.js'
import { Format, ImportOptions, PushEmpty, SecretId } from '../config-fields.js'

/**
 * `config` of an Azure Blob source or sink (docs/recipes/pull-inventory-from-azure-blob.md): one schema for both roles, like S3's.
 * A sink's results land at `{prefix}/job-{jobId}.{format}`. The storage account is the secret's
 * (`accountName`), so the config names no credential and no account.
 */
export const AzureBlobConfig = Type.Object({
  container: Type.String({
    minLength: 3, maxLength: 63, pattern: '^[a-z0-9](?!.*--)[a-z0-9-]*[a-z0-9]$',
    description: 'container name: 3–63 lower-case letters, digits and single hyphens',
  }),
  prefix: Type.Optional(Type.String({ maxLength: 1024, description: 'blob name prefix (a "folder"), e.g. "daily-uploads/"' })),
  pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'glob on the blob name below the prefix, e.g. "**/*.csv"' })),
  format: Type.Optional(Format('sources: the format of every file (absent: detected per file); sinks: the results\' format (default csv)')),
  endpoint: Type.Optional(Type.String({
    minLength: 1, maxLength: 2048, pattern: '^https?://',
    description: 'blob service URL, absent: https://{accountName}.blob.core.windows.net; Azurite: http://127.0.0.1:10000/devstoreaccount1. ' +
      'No query string (a SAS token belongs in the secret); obeys the private-network rule',
  })),
  secretRef: SecretId('the id of an "azure" secret (accountName plus accountKey or sasToken)'),
  ...ImportOptions,
  pushEmpty: Type.Optional(PushEmpty),
}, { additionalProperties: false, description: 'Azure Blob Storage container (source or sink)' })

/** A stored config: the import options as normalised (src/sources/service.ts). */
export type AzureBlobConfig = Omit<Static<typeof AzureBlobConfig>, 'parse' | 'fieldMap'> & ImportOptionsConfig
