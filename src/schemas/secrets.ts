import { Type, type Static } from 'typebox'
import { Timestamp, Uuid } from './common.js'

export const SecretTypeSchema = Type.Union(
  [Type.Literal('aws'), Type.Literal('webhook'), Type.Literal('http_header'), Type.Literal('azure'), Type.Literal('sftp')],
  { description: 'aws | webhook | http_header | azure | sftp' })

/** A value's strings: an sftp private key in PEM (a 16384-bit RSA key is about 12.5k characters) is the longest. */
const ValueString = Type.String({ maxLength: 16_384 })

/**
 * The envelope only: every field a string. The per-type rules (required fields, whsec_ format,
 * header syntax) are checked by the vault, which also knows a secret's type on PATCH.
 */
const SecretValueInput = Type.Record(Type.String({ maxLength: 64 }), ValueString, {
  maxProperties: 8,
  description: [
    'By type:',
    '- aws: { accessKeyId, secretAccessKey, sessionToken? }',
    '- webhook: { signingSecret } — "whsec_" + base64 of 24–64 bytes; omit the value to have one generated',
    '- http_header: { name, value } — e.g. { "name": "Authorization", "value": "Bearer …" }',
    '- azure: { accountName, accountKey } or { accountName, sasToken } — the storage account name and its key1/key2,',
    '  or a SAS token (with or without the leading "?")',
    '- sftp: { username, password?, privateKey?, passphrase? } — a password, an OpenSSH or PEM private key (the whole file, newlines included), ' +
      'or both; passphrase only for an encrypted key. Shown redacted as the user name, mt_byo_**** + last four, and the key\'s type and SHA256 fingerprint',
  ].join('\n'),
})

const Name = Type.String({ minLength: 1, maxLength: 200, description: 'unique within the organisation' })

export const SecretCreate = Type.Object({
  name: Name,
  type: SecretTypeSchema,
  value: Type.Optional(SecretValueInput),
}, { title: 'SecretCreate', additionalProperties: false })
export type SecretCreate = Static<typeof SecretCreate>

export const SecretPatch = Type.Object({
  name: Type.Optional(Name),
  value: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), ValueString, {
    maxProperties: 8,
    description: 'a new value of the secret\'s type (replaces the whole value; stamps rotatedAt)',
  })),
  validate: Type.Optional(Type.Boolean({ description: 'false skips the validation ping of the sources that use the secret (aws, azure and sftp secrets)' })),
}, { title: 'SecretPatch', additionalProperties: false, minProperties: 1 })
export type SecretPatch = Static<typeof SecretPatch>

const secretProperties = {
  id: Uuid,
  name: Type.String(),
  type: SecretTypeSchema,
  redacted: Type.Record(Type.String(), Type.String(), {
    description: 'each value as mt_byo_**** + its last four characters (an http_header\'s name and an sftp username in clear, ' +
      'an sftp privateKey as its type and fingerprint, e.g. "ssh-ed25519 SHA256:…")',
  }),
  createdAt: Timestamp,
  rotatedAt: Type.Union([Timestamp, Type.Null()], { description: 'when the value was last replaced' }),
}

export const SecretSchema = Type.Object(secretProperties, { $id: 'Secret' })

/** A secret as a source or channel that uses it shows it (`redactedSecrets`, by config field). */
export const SecretSummary = Type.Object({
  id: Uuid, name: Type.String(), type: SecretTypeSchema, redacted: secretProperties.redacted,
}, { title: 'SecretSummary' })

export const SecretCreated = Type.Object({
  ...secretProperties,
  signingSecret: Type.Optional(Type.String({
    description: 'the generated webhook signing secret, in full — present only in this response, only when it was generated',
  })),
}, { title: 'SecretCreated' })
