import { Type, type Static } from 'typebox'
import type { ImportOptionsConfig } from '../../domain/source.js'
import { Format, ImportOptions, PushEmpty, SecretId } from '../config-fields.js'

/**
 * `config` of an S3 source or sink (docs/sources.md): one schema for both roles. Sinks results land at
 * `{prefix}/job-{jobId}.{format}`; the import options (parse, fieldMap) are an inventory source's and
 * refused on a sink by the shared normalisation with a message that says so.
 */
export const S3Config = Type.Object({
  bucket: Type.String({ minLength: 3, maxLength: 63, pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$', description: 'bucket name' }),
  prefix: Type.Optional(Type.String({ maxLength: 1024, description: 'key prefix, e.g. "daily-uploads/"' })),
  region: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9-]+$', description: 'default us-east-1' })),
  secretRef: SecretId('the id of an "aws" secret (accessKeyId, secretAccessKey, optional sessionToken)'),
  endpoint: Type.Optional(Type.String({
    minLength: 1, maxLength: 2048, pattern: '^https?://', description: 'S3-compatible endpoint; obeys the private-network rule',
  })),
  forcePathStyle: Type.Optional(Type.Boolean({ description: 'path-style requests (bucket in the path), for MinIO and other S3-compatible stores' })),
  pattern: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'glob on the key below the prefix, e.g. "**/*.csv"' })),
  format: Type.Optional(Format('sources: the format of every file (absent: detected per file); sinks: the results\' format (default csv)')),
  ...ImportOptions,
  pushEmpty: Type.Optional(PushEmpty),
}, { additionalProperties: false, description: 'S3 bucket (source or sink)' })

/** A stored config: the import options as normalised (src/sources/service.ts). */
export type S3Config = Omit<Static<typeof S3Config>, 'parse' | 'fieldMap'> & ImportOptionsConfig
