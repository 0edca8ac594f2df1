import nodemailer from 'nodemailer'
import type { Deps } from '../deps.js'
import { getAgent } from '../db/sql/agents.js'
import {
  getChannelById, getDelivery, recordDeliveryAttempt, type Channel, type DeliveryEvent, type EmailChannelConfig, type WebhookChannelConfig,
} from '../db/sql/channels.js'
import { getItemById, type PendingItem } from '../db/sql/pending-items.js'
import { getSourceById } from '../db/sql/sources.js'
import { isAppError } from '../errors.js'
import { guardedRequest } from '../net/guarded-http.js'
import { signWithEach } from '../inbound/signature.js'
import { presentItem } from '../pending-items/present.js'

/**
 * Sends notifications to channels (docs/scaling.md, "Notifications"): Slack incoming webhooks, Standard-Webhooks
 * signed JSON, and e-mail over the operator's SMTP server. Every URL goes through the guarded
 * network path (checked on every connection, no redirects, bounded time and response size).
 *
 * A send never throws: it answers a {@link SendResult} that says whether a retry could help.
 * Messages in results are written for the tenant and never carry a response body.
 */

export interface Notification {
  event: DeliveryEvent | 'test'
  agent: { id: string, name: string }
  source: { id: string, name: string } | null
  item: PendingItem | null
  /** stable per delivery (retries reuse it): the `webhook-id` receivers deduplicate on */
  id: string
  /** one line a person can act on */
  text: string
  subject: string
  /** where to act on it in Ferry's UI; only when FERRY_PUBLIC_URL says where Ferry is reached */
  url?: string
}

/**
 * A link into the web UI (hash routes, web/src/lib/router.ts) under FERRY_PUBLIC_URL; none without
 * it, as the server cannot know the address its users reach it at.
 */
export function uiLink (publicUrl: string | undefined, route: string): string | undefined {
  return publicUrl === undefined ? undefined : `${publicUrl}/#${route}`
}

const pendingRoute = (agentId: string) => `/agents/${encodeURIComponent(agentId)}/pending`

export interface SendResult {
  ok: boolean
  /** a later attempt might succeed (network trouble, 408/429/5xx, SMTP 4xx) */
  retryable: boolean
  /** the HTTP status (slack, webhook) or SMTP reply code (email), when there was an answer */
  status?: number
  message: string
}

/** Sends one recorded delivery; 'retry' asks pg-boss to try again later. */
export async function deliverNotification (
  deps: Deps, deliveryId: string, options: { lastAttempt: boolean },
): Promise<'delivered' | 'failed' | 'retry' | 'skipped'> {
  const { db, logger } = deps
  const delivery = await getDelivery(db, deliveryId)
  // gone with its channel or item (deleted meanwhile), or already settled by an earlier attempt
  if (!delivery || delivery.status !== 'queued') return 'skipped'
  const [channel, item] = await Promise.all([getChannelById(db, delivery.channelId), getItemById(db, delivery.itemId)])
  if (!channel || !item) return 'skipped'
  const notification = await describe(deps, delivery.event, item, delivery.id)
  const result = await sendToChannel(deps, channel, notification)
  const final = result.ok || !result.retryable || options.lastAttempt
  await recordDeliveryAttempt(db, delivery.id, {
    status: result.ok ? 'delivered' : final ? 'failed' : 'queued',
    error: result.ok ? null : result.message,
    httpStatus: result.status ?? null,
  })
  const log = { deliveryId, channelId: channel.id, channelType: channel.type, itemId: item.id, event: delivery.event, status: result.status }
  if (result.ok) {
    logger.info(log, 'notification delivered')
    return 'delivered'
  }
  logger.warn({ ...log, reason: result.message, final }, final ? 'notification failed' : 'notification failed; will retry')
  return final ? 'failed' : 'retry'
}

/** The text a channel receives about an item's event. */
async function describe (deps: Deps, event: DeliveryEvent, item: PendingItem, id: string): Promise<Notification> {
  const [agent, source] = await Promise.all([getAgent(deps.db, item.orgId, item.agentId), getSourceById(deps.db, item.sourceId)])
  const agentRef = { id: item.agentId, name: agent?.name ?? item.agentId }
  const sourceRef = { id: item.sourceId, name: source?.name ?? item.sourceId }
  const what = item.type === 'DATA_SOURCE_PUSH_FAILED' ? `Pushes to the data sink "${sourceRef.name}"` : `Pulls from the data source "${sourceRef.name}"`
  const where = `(agent "${agentRef.name}")`
  const url = uiLink(deps.config.publicUrl, pendingRoute(item.agentId))
  if (event === 'opened') {
    return {
      event, agent: agentRef, source: sourceRef, item, id, ...(url ? { url } : {}),
      subject: `[Ferry] ${item.type === 'DATA_SOURCE_PUSH_FAILED' ? 'Push' : 'Pull'} failing: ${sourceRef.name}`,
      text: `${what} ${where} are failing. ${item.message}`,
    }
  }
  const how = item.resolution === 'manual' ? 'was resolved by hand' : 'is resolved: the last run succeeded'
  return {
    event, agent: agentRef, source: sourceRef, item, id, ...(url ? { url } : {}),
    subject: `[Ferry] Resolved: ${sourceRef.name}`,
    text: `${what} ${where}: the pending item ${how}${item.occurrences > 1 ? ` (it failed ${item.occurrences} times)` : ''}.`,
  }
}

/** A test message for `POST …/channels/{cid}/test`. */
export function testNotification (agent: { id: string, name: string }, id: string, publicUrl?: string): Notification {
  const url = uiLink(publicUrl, pendingRoute(agent.id))
  return {
    event: 'test', agent, source: null, item: null, id, ...(url ? { url } : {}),
    subject: '[Ferry] Test notification',
    text: `Test notification from Ferry for agent "${agent.name}": this channel will hear when a pending item opens or is resolved.`,
  }
}

export async function sendToChannel (deps: Deps, channel: Channel, n: Notification): Promise<SendResult> {
  try {
    if (channel.type === 'slack') return await postJson(deps, (channel.config as { url: string }).url, slackMessage(n), {})
    if (channel.type === 'webhook') return await sendWebhook(deps, channel, n)
    return await sendEmail(deps, channel.config as EmailChannelConfig, n)
  } catch (err) {
    // guarded path refusals and network failures arrive as AppErrors with tenant-safe messages
    if (isAppError(err)) return { ok: false, retryable: err.retryable, message: err.message }
    deps.logger.error({ err, channelId: channel.id }, 'channel send failed unexpectedly')
    return { ok: false, retryable: true, message: 'The notification could not be sent because of an internal error.' }
  }
}

/** Slack's incoming-webhook message: `text` is the fallback, `blocks` the layout. */
export function slackMessage (n: Notification): { text: string, blocks: unknown[] } {
  const icon = n.event === 'opened' ? ':warning:' : n.event === 'resolved' ? ':white_check_mark:' : ':wave:'
  const fields: string[] = [`*Agent:* ${slackEscape(n.agent.name)}`]
  if (n.source) fields.push(`*Source:* ${slackEscape(n.source.name)}`)
  if (n.item) fields.push(`*Occurrences:* ${n.item.occurrences}`)
  // Slack's link syntax: the URL is Ferry's own (FERRY_PUBLIC_URL), so it needs no escaping beyond what slackEscape does
  const link = n.url ? ` <${slackEscape(n.url)}|Open in Ferry>` : ''
  return {
    text: `${icon} ${n.text}${n.url ? ` ${n.url}` : ''}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${icon} ${slackEscape(n.text)}${link}` } },
      { type: 'context', elements: fields.map(text => ({ type: 'mrkdwn', text })) },
    ],
  }
}

// Slack's control characters in mrkdwn; a source name must not turn into a <!channel> mention
const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** The JSON body of a webhook channel, shaped as Standard Webhooks suggests: `{ type, timestamp, data }`. */
export function webhookPayload (n: Notification, timestamp: Date): Record<string, unknown> {
  return {
    type: n.event === 'test' ? 'channel.test' : `pending_item.${n.event}`,
    timestamp: timestamp.toISOString(),
    data: {
      text: n.text,
      agent: n.agent,
      ...(n.url ? { url: n.url } : {}),
      ...(n.source ? { source: n.source } : {}),
      ...(n.item ? { item: presentItem(n.item) } : {}),
    },
  }
}

async function sendWebhook (deps: Deps, channel: Channel, n: Notification): Promise<SendResult> {
  const config = channel.config as WebhookChannelConfig
  const timestamp = new Date()
  const body = JSON.stringify(webhookPayload(n, timestamp))
  const headers: Record<string, string> = {
    'webhook-id': n.id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
  }
  if (config.secretRef) {
    // the signing secret is decrypted for this one signature and dropped
    headers['webhook-signature'] = await signWithEach(deps, channel.orgId, config.secretRef, n.id, timestamp, body)
  }
  return postJson(deps, config.url, body, headers)
}

async function postJson (deps: Deps, url: string, payload: unknown, headers: Record<string, string>): Promise<SendResult> {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  const res = await guardedRequest(url, {
    policy: deps.policy,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Ferry-Notifications/1', ...headers },
    body,
    timeoutMs: Math.min(deps.config.targetTimeoutMs, 15_000),
    maxResponseBytes: 4096,
  })
  const host = new URL(url).host
  if (res.status >= 200 && res.status < 300) {
    return { ok: true, retryable: false, status: res.status, message: `${host} accepted the notification (HTTP ${res.status}).` }
  }
  if (res.status >= 300 && res.status < 400) {
    return {
      ok: false, retryable: false, status: res.status,
      message: `${host} answered HTTP ${res.status}, a redirect; Ferry does not follow redirects: configure the final URL.`,
    }
  }
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500
  const hint = res.status === 404 || res.status === 410
    ? ' The URL may have been revoked; create a new one and update the channel.'
    : retryable ? ' Ferry retries with backoff.' : ''
  return { ok: false, retryable, status: res.status, message: `${host} refused the notification with HTTP ${res.status}.${hint}` }
}

const DEFAULT_FROM = 'Ferry <ferry@localhost>'

/**
 * E-mail through the operator's SMTP server (FERRY_SMTP_URL). A `from` query parameter on that URL
 * sets the sender (smtp://host:25?from=alerts@example.com); it is not passed on to nodemailer.
 */
async function sendEmail (deps: Deps, config: EmailChannelConfig, n: Notification): Promise<SendResult> {
  if (!deps.config.smtpUrl) {
    return { ok: false, retryable: false, message: 'E-mail is not set up on this Ferry server (FERRY_SMTP_URL is not set); ask its operator.' }
  }
  const url = new URL(deps.config.smtpUrl)
  const from = url.searchParams.get('from') ?? DEFAULT_FROM
  url.searchParams.delete('from')
  const transport = nodemailer.createTransport(url.toString(), {})
  try {
    const info = await transport.sendMail({
      from,
      to: config.to,
      subject: n.subject,
      text: `${n.text}\n\nAgent: ${n.agent.name}${n.source ? `\nSource: ${n.source.name}` : ''}` +
        `${n.item ? `\nOccurrences: ${n.item.occurrences}\nFirst seen: ${n.item.firstSeenAt}` : ''}${n.url ? `\n\nOpen in Ferry: ${n.url}` : ''}\n`,
      headers: { 'X-Ferry-Notification-Id': n.id },
    })
    const refused = info.rejected.length
    if (refused > 0 && info.accepted.length === 0) return { ok: false, retryable: false, message: 'The mail server refused every recipient.' }
    const recipients = `${info.accepted.length} recipient${info.accepted.length === 1 ? '' : 's'}`
    return { ok: true, retryable: false, message: `The mail server accepted the message for ${recipients}${refused ? ` (${refused} refused)` : ''}.` }
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode
    if (typeof code === 'number') {
      // SMTP: 4xx is a temporary failure, 5xx permanent
      return { ok: false, retryable: code < 500, status: code, message: `The mail server answered ${code}${code < 500 ? '; Ferry retries with backoff' : ''}.` }
    }
    deps.logger.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'smtp send failed')
    return { ok: false, retryable: true, message: 'The mail server could not be reached; Ferry retries with backoff.' }
  } finally {
    transport.close()
  }
}
