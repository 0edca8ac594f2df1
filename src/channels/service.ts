import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import type { Deps } from '../deps.js'
import { getAgent } from '../db/sql/agents.js'
import { requireAgent } from '../agents/service.js'
import {
  deleteChannel as removeChannel, getChannel, insertChannel, listChannels, listDeliveriesOfChannel, lockChannel, updateChannel as writeChannel,
  type Channel, type ChannelConfig, type ChannelType, type Delivery, type WebhookChannelConfig,
} from '../db/sql/channels.js'
import { redactedSecretsByIds } from '../db/sql/sources.js'
import { AppError, isAppError } from '../errors.js'
import { assertTargetUrl } from '../net/guarded-http.js'
import { resolveAllowed } from '../net/guarded-lookup.js'
import { EmailChannelConfig, SlackChannelConfig, WebhookChannelConfig as WebhookSchema } from '../schemas/channels.js'
import { newId } from '../util/ids.js'
import { diff, recordAudit, type Actor } from '../audit/audit.js'
import { REDACTED_PREFIX } from '../vault/secret.js'
import { sendToChannel, testNotification, type SendResult } from './deliver.js'

const channelNotFound = (): AppError => new AppError('NOT_FOUND', 'Channel not found.')

/** A channel of the organisation's agent, or NOT_FOUND. */
export async function requireChannel (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, channelId: string): Promise<Channel> {
  const channel = await getChannel(deps.db, orgId, agentId, channelId)
  if (!channel) throw channelNotFound()
  return channel
}

export async function listChannelsOf (deps: Pick<Deps, 'db'>, orgId: string, agentId: string): Promise<Channel[]> {
  const agent = await requireAgent(deps.db, orgId, agentId)
  return listChannels(deps.db, orgId, agent.id)
}

/** A channel's newest deliveries. */
export async function listDeliveries (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, channelId: string, limit: number): Promise<Delivery[]> {
  const channel = await requireChannel(deps, orgId, agentId, channelId)
  return listDeliveriesOfChannel(deps.db, channel.id, limit)
}

export async function deleteChannel (deps: Pick<Deps, 'db'>, orgId: string, agentId: string, channelId: string, actor: Actor): Promise<void> {
  await deps.db.transaction(async (tx) => {
    if (!await removeChannel(tx, orgId, agentId, channelId)) throw channelNotFound()
    await recordAudit(tx, actor, { action: 'delete', resourceType: 'channel', resourceId: channelId })
  })
}

const SCHEMAS: Record<ChannelType, TSchema> = { slack: SlackChannelConfig, webhook: WebhookSchema, email: EmailChannelConfig }

/**
 * Creates a channel after the checks that need no message sent: the config's shape, the URL
 * against the private-network rule (scheme, literal address, and what the host name resolves to
 * now — it is checked again on every connection), the signing secret's existence and type, and
 * for e-mail that this server has an SMTP server at all.
 */
export async function createChannel (
  deps: Deps, orgId: string, agentId: string, input: { name?: string, type: ChannelType, config: Record<string, unknown> }, actor?: Actor,
): Promise<Channel> {
  const config = await checkChannel(deps, orgId, input.type, input.config)
  const name = input.name?.trim() || `${input.type} channel`
  return deps.db.transaction(async (tx) => {
    const channel = await insertChannel(tx, { id: newId(), orgId, agentId, name, type: input.type, config })
    if (actor) await recordAudit(tx, actor, { action: 'create', resourceType: 'channel', resourceId: channel.id })
    return channel
  })
}

/**
 * `PATCH …/channels/{cid}`: a new name and/or config fields merged onto the stored config (null
 * removes an optional field); the result passes the same checks as a new channel. The audit entry
 * holds the changed fields in their API form (a Slack URL redacted).
 */
export async function updateChannel (
  deps: Deps, orgId: string, agentId: string, channelId: string, patch: { name?: string, config?: Record<string, unknown> }, actor?: Actor,
): Promise<Channel> {
  const current = await requireChannel(deps, orgId, agentId, channelId)
  const merged: Record<string, unknown> = { ...current.config, ...patch.config }
  for (const [k, v] of Object.entries(merged)) if (v === null) delete merged[k]
  const config = patch.config === undefined ? current.config : await checkChannel(deps, orgId, current.type, merged)
  const name = patch.name === undefined ? current.name : patch.name.trim()
  if (name === '') throw new AppError('VALIDATION_FAILED', 'name must not be blank.', { details: { field: 'name' } })
  return deps.db.transaction(async (tx) => {
    if (!await lockChannel(tx, orgId, agentId, channelId)) throw channelNotFound()
    const updated = await writeChannel(tx, channelId, { name, config })
    if (actor) {
      const view = (c: Channel) => ({ name: c.name, config: presentConfig(c) })
      const changes = diff(view(current), view(updated), ['name', 'config'])
      await recordAudit(tx, actor, { action: 'update', resourceType: 'channel', resourceId: channelId, changes })
    }
    return updated
  })
}

async function checkChannel (deps: Deps, orgId: string, type: ChannelType, input: Record<string, unknown>): Promise<ChannelConfig> {
  const config = checkConfig(type, input)
  if (type === 'slack' || type === 'webhook') await checkUrl(deps, (config as { url: string }).url)
  const secretRef = type === 'webhook' ? (config as unknown as WebhookChannelConfig).secretRef : undefined
  if (secretRef) {
    let secretType: string
    try {
      secretType = (await deps.vault.get(orgId, secretRef)).type
    } catch (err) {
      if (isAppError(err) && err.code === 'NOT_FOUND') {
        throw new AppError('VALIDATION_FAILED', 'config.secretRef does not name a secret of this organisation.', { details: { field: 'config.secretRef' } })
      }
      throw err
    }
    if (secretType !== 'webhook') {
      throw new AppError('SECRET_TYPE_MISMATCH',
        `config.secretRef must be a secret of type "webhook" (a signing secret), not "${secretType}".`, { details: { field: 'config.secretRef' } })
    }
  }
  if (type === 'email') {
    if (!deps.config.smtpUrl) {
      throw new AppError('VALIDATION_FAILED',
        'E-mail channels need an SMTP server, and this Ferry server has none (FERRY_SMTP_URL is not set); ' +
        'ask its operator, or use a Slack or webhook channel.',
        { details: { field: 'type' } })
    }
    const to = [...new Set((config as { to: string[] }).to.map(a => a.trim().toLowerCase()))]
    config.to = to
  }
  return config as unknown as ChannelConfig
}

function checkConfig (type: ChannelType, config: Record<string, unknown>): Record<string, unknown> & { to?: string[] } {
  const schema = SCHEMAS[type]
  if (!Value.Check(schema, config)) {
    const errors = [...Value.Errors(schema, config)]
    // an unknown field first: it is usually the misspelt name of the field reported missing
    const first = errors.find(e => (e.params as { additionalProperties?: string[] } | undefined)?.additionalProperties?.length) ?? errors[0]
    const missing = (first?.params as { requiredProperties?: string[] } | undefined)?.requiredProperties
    const extra = (first?.params as { additionalProperties?: string[] } | undefined)?.additionalProperties
    const where = first?.instancePath ? `config${first.instancePath.replace(/\//g, '.')}` : 'config'
    const field = missing?.length ? `config.${missing[0]}` : extra?.length ? `config.${extra[0]}` : where
    const message = extra?.length
      ? `${field} is not a known field for a ${type} channel` +
        `${type === 'slack' && extra[0] === 'webhookUrl' ? ' (the incoming-webhook URL goes in config.url)' : ''}.`
      : `${field} ${first?.message ?? 'is not valid'}.`
    throw new AppError('VALIDATION_FAILED', message, { details: { field } })
  }
  return { ...config }
}

async function checkUrl (deps: Deps, url: string): Promise<void> {
  try {
    const parsed = assertTargetUrl(url, deps.policy)
    await resolveAllowed(parsed.hostname.replace(/^\[|\]$/g, ''), deps.policy).catch((err) => {
      // a name that does not resolve right now is not refused (DNS may be down); the test says so
      if (isAppError(err)) throw err
    })
  } catch (err) {
    if (isAppError(err) && err.code === 'TARGET_NOT_ALLOWED') {
      throw new AppError('TARGET_NOT_ALLOWED', err.message, { details: { ...err.details, field: 'config.url' } })
    }
    throw err
  }
}

/** The API's view: a Slack URL is a credential (anyone holding it can post), so only its origin and last characters are shown. */
export async function presentChannels (deps: Deps, orgId: string, channels: Channel[]) {
  const refs = channels.map(c => (c.config as { secretRef?: string }).secretRef).filter((id): id is string => Boolean(id))
  const secrets = await redactedSecretsByIds(deps.db, orgId, refs)
  return channels.map(c => {
    const config = presentConfig(c)
    const ref = config.secretRef as string | undefined
    return {
      id: c.id,
      agentId: c.agentId,
      name: c.name,
      type: c.type,
      config,
      ...(ref && secrets.has(ref) ? { redactedSecrets: { secretRef: secrets.get(ref) } } : {}),
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    }
  })
}

function presentConfig (c: Channel): Record<string, unknown> {
  const config: Record<string, unknown> = { ...c.config }
  if (c.type === 'slack') config.url = redactUrl(String(config.url))
  return config
}

export function redactUrl (url: string): string {
  try {
    const u = new URL(url)
    const rest = `${u.pathname}${u.search}`
    return `${u.origin}/${REDACTED_PREFIX}${rest.length > 8 ? rest.slice(-4) : ''}`
  } catch {
    return REDACTED_PREFIX
  }
}

/** `POST …/channels/{cid}/test`: one test message, sent now; the answer says how it went. */
export async function testChannel (deps: Deps, channel: Channel, actor?: Actor): Promise<SendResult> {
  const agent = await getAgent(deps.db, channel.orgId, channel.agentId)
  const notification = testNotification({ id: channel.agentId, name: agent?.name ?? channel.agentId }, newId(), deps.config.publicUrl)
  const result = await sendToChannel(deps, channel, notification)
  // the message is out whatever happens next; the entry records that it was sent and how it went
  if (actor) await recordAudit(deps.db, actor, { action: 'test', resourceType: 'channel', resourceId: channel.id, changes: { ok: { after: result.ok } } })
  deps.logger.info({ channelId: channel.id, channelType: channel.type, ok: result.ok, status: result.status }, 'channel test sent')
  return result
}
