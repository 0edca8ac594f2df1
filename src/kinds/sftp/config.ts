import { Type, type Static } from 'typebox'
import type { ImportOptionsConfig } from '../../domain/source.js'
import { Format, ImportOptions, PushEmpty, SecretId } from '../config-fields.js'

/**
 * `config` of an SFTP source or sink (docs/sftp.md): one schema for both roles, like S3's. A sink
 * writes `{path}/job-{jobId}.{format}`; the import options are an inventory source's and refused
 * on a sink by the shared normalisation.
 *
 * `hostKey` must be present but is not pattern-checked by the schema: an empty or malformed value
 * is refused by the save-time ping with SFTP_HOST_KEY_MISMATCH, whose message names the key the
 * server presented, which a schema error could not (docs/sftp.md, "Host key pinning").
 */
export const SftpConfig = Type.Object({
  host: Type.String({
    minLength: 1, maxLength: 253, pattern: '^[^\\s/@]+$', description: 'the SFTP server\'s host name or IP address; obeys the private-network rule',
  }),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'the SSH port (default 22)' })),
  path: Type.String({
    minLength: 1, maxLength: 1024,
    description: 'the directory listed (sources) or written to (sinks); absolute, or relative to the user\'s login directory. It must exist',
  }),
  hostKey: Type.String({
    maxLength: 128,
    description: 'the server\'s host key fingerprint, "SHA256:<base64>" as `ssh-keygen -lf <host key>.pub` prints it. Required: ' +
      'an empty or wrong value fails with SFTP_HOST_KEY_MISMATCH naming the fingerprint the server presented',
  }),
  secretRef: SecretId('the id of an "sftp" secret (username, password and/or privateKey, passphrase)'),
  pattern: Type.Optional(Type.String({
    minLength: 1, maxLength: 512,
    description: 'sources: glob on the path below `path`, e.g. "*.csv"; subdirectories are listed when it contains "/" or "**"',
  })),
  format: Type.Optional(Format('sources: the format of every file (absent: detected per file); sinks: the results\' format (default csv)')),
  ...ImportOptions,
  pushEmpty: Type.Optional(PushEmpty),
}, { additionalProperties: false, description: 'SFTP directory (source or sink)' })

/** A stored config: the import options as normalised (src/sources/service.ts). */
export type SftpConfig = Omit<Static<typeof SftpConfig>, 'parse' | 'fieldMap'> & ImportOptionsConfig
