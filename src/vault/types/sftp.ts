import { parseSftpSecret, redactSftpSecret, sftpSecretStrings, SFTP_SECRET_FIELDS, type SftpSecretValue } from '../../kinds/sftp/secret.js'
import type { SecretTypeDescriptor } from './descriptor.js'

declare module '../secret.js' {
  interface SecretValues { sftp: SftpSecretValue }
}

/**
 * SSH credentials of SFTP sources and sinks (docs/sftp.md): a user name with a password, an
 * OpenSSH/PEM private key (and its passphrase), or both. The checks live with the kind
 * (src/kinds/sftp/secret.ts); a private key is shown as its type and fingerprint, never its text.
 */
export const sftpSecret: SecretTypeDescriptor<SftpSecretValue> = {
  type: 'sftp',
  fields: SFTP_SECRET_FIELDS,
  parse: parseSftpSecret,
  redact: redactSftpSecret,
  secretStrings: sftpSecretStrings,
  triedBySourcePing: true,
}
