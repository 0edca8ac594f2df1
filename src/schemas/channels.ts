import { Type } from 'typebox'
import { Timestamp, Uuid } from './common.js'
import { SecretSummary } from './secrets.js'

const UuidPattern = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' })
const Url = Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' })

/** Config schemas per channel type; checked in the handler so the error names the field. */
export const SlackChannelConfig = Type.Object({
  url: Url,
}, { additionalProperties: false, description: 'a Slack incoming-webhook URL' })

export const WebhookChannelConfig = Type.Object({
  url: Url,
  secretRef: Type.Optional(UuidPattern),
}, { additionalProperties: false, description: 'JSON POSTs, signed per Standard Webhooks with the secret (type webhook) when secretRef is set' })

export const EmailChannelConfig = Type.Object({
  to: Type.Array(Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@<>,;"]+@[^\\s@<>,;"]+\\.[^\\s@<>,;"]+$' }), { minItems: 1, maxItems: 20 }),
}, { additionalProperties: false, description: 'recipients; sent through the server\'s FERRY_SMTP_URL' })

const ChannelType = Type.Union([Type.Literal('slack'), Type.Literal('webhook'), Type.Literal('email')])

const ChannelName = Type.String({ minLength: 1, maxLength: 200, description: 'shown in the UI and the audit log' })

export const ChannelCreate = Type.Object({
  name: Type.Optional({ ...ChannelName, description: 'default: "<type> channel"' }),
  type: ChannelType,
  config: Type.Record(Type.String(), Type.Unknown()),
}, { title: 'ChannelCreate', additionalProperties: false })

export const ChannelPatch = Type.Object({
  name: Type.Optional(ChannelName),
  config: Type.Optional(Type.Record(Type.String(), Type.Unknown(), {
    description: 'fields to change, merged onto the stored config (the type stays); null removes an optional field (secretRef)',
  })),
}, { title: 'ChannelPatch', additionalProperties: false, minProperties: 1 })

export const ChannelSchema = Type.Object({
  id: Uuid,
  agentId: Uuid,
  name: Type.String(),
  type: ChannelType,
  config: Type.Record(Type.String(), Type.Unknown(), { description: 'a Slack URL is shown redacted: it is a credential' }),
  redactedSecrets: Type.Optional(Type.Record(Type.String(), SecretSummary, { description: 'the secret the config refers to, by config field' })),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}, { $id: 'Channel' })

export const Delivery = Type.Object({
  id: Uuid,
  itemId: Uuid,
  event: Type.Union([Type.Literal('opened'), Type.Literal('resolved')]),
  status: Type.Union([Type.Literal('queued'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deliveredAt: Type.Union([Timestamp, Type.Null()]),
}, { title: 'ChannelDelivery' })

export const ChannelParams = Type.Object({ id: Uuid, cid: Uuid })

export const ChannelTestResult = Type.Object({
  ok: Type.Boolean(),
  status: Type.Optional(Type.Integer({ description: 'HTTP status (slack, webhook) or SMTP reply code (email)' })),
  message: Type.String(),
}, { title: 'ChannelTestResult' })
