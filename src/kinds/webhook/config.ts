import { Type, type Static } from 'typebox'
import type { ImportOptionsConfig } from '../../domain/source.js'
import { Format, ImportOptions, PushEmpty, SecretId } from '../config-fields.js'

/** `config` of an inbound webhook source: files are POSTed to /api/v1/inbound/{sourceId} (docs/inbound-webhooks.md). */
export const InboundWebhookConfig = Type.Object({
  secretRef: Type.Optional(SecretId('the id of a "webhook" secret deliveries are signed with; absent at creation: one is generated')),
  format: Type.Optional(Format('the format of every delivery; absent: from X-File-Name, the content type, then the content')),
  ...ImportOptions,
}, { additionalProperties: false, description: 'inbound webhook source' })

/** `config` of an outbound webhook sink: results are POSTed to `url`, signed per Standard Webhooks (docs/push.md). */
export const OutboundWebhookConfig = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://', description: 'where results are POSTed; obeys the private-network rule' }),
  secretRef: Type.Optional(SecretId('the id of a "webhook" secret the requests are signed with')),
  headerSecretRef: Type.Optional(SecretId('the id of an "http_header" secret sent as a header (e.g. Authorization)')),
  format: Type.Optional(Format('the results\' format (default json)')),
  pushEmpty: Type.Optional(PushEmpty),
}, { additionalProperties: false, description: 'outbound webhook sink' })

/** A stored config: the secretRef is always set (generated at creation when absent). */
export type InboundWebhookConfig = Omit<Static<typeof InboundWebhookConfig>, 'parse' | 'fieldMap' | 'secretRef'> & ImportOptionsConfig & { secretRef: string }
export type OutboundWebhookConfig = Static<typeof OutboundWebhookConfig>
