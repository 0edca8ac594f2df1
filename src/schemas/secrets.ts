import { Type, type Static } from 'typebox'
import { Timestamp, Uuid } from './common.js'

export const SecretTypeSchema = Type.Union([Type.Literal('aws'), Type.Literal('webhook'), Type.Literal('http_header'), Type.Literal('azure')],
  { description: 'aws | webhook | http_header | azure' })

/**
 * The envelope only: every field a string. The per-type rules (required fields, whsec_ format,
 * header syntax) are checked by the vault, which also knows a secret's type on PATCH.
 */
const SecretValueInput = Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 8192 }), {
  maxProperties: 8,
  description: [
    'By type:',
    '- aws: { accessKeyId, secretAccessKey, sessionToken? }',
    '- webhook: { signingSecret } — "whsec_" + base64 of 24–64 bytes; omit the value to have one generated',
    '- http_header: { name, value } — e.g. { "name": "Authorization", "value": "Bearer …" }',
    '- azure: { accountName, accountKey } or { accountName, sasToken } — the storage account name and its key1/key2,',
    '  or a SAS token (with or without the leading "?")',
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
  value: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 8192 }), {
    maxProperties: 8,
    description: 'a new value of the secret\'s type (replaces the whole value; stamps rotatedAt)',
  })),
  validate: Type.Optional(Type.Boolean({ description: 'false skips the validation ping of the sources that use the secret (aws and azure secrets)' })),
}, { title: 'SecretPatch', additionalProperties: false, minProperties: 1 })
export type SecretPatch = Static<typeof SecretPatch>

const secretProperties = {
  id: Uuid,
  name: Type.String(),
  type: SecretTypeSchema,
  redacted: Type.Record(Type.String(), Type.String(), {
    description: 'each value as mt_byo_**** + its last four characters (an http_header\'s name in clear)',
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
