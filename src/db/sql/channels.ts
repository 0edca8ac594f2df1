import type { Queryable } from '../client.js'
import { iso, isoRequired, json } from './rows.js'

export type ChannelType = 'slack' | 'webhook' | 'email'

export interface SlackChannelConfig { url: string }
export interface WebhookChannelConfig { url: string, secretRef?: string }
export interface EmailChannelConfig { to: string[] }
export type ChannelConfig = SlackChannelConfig | WebhookChannelConfig | EmailChannelConfig

export interface Channel {
  id: string
  orgId: string
  agentId: string
  name: string
  type: ChannelType
  config: ChannelConfig
  createdAt: string
  updatedAt: string
}

const toChannel = (r: Record<string, unknown>): Channel => ({
  id: r.id as string,
  orgId: r.org_id as string,
  agentId: r.agent_id as string,
  name: r.name as string,
  type: r.type as ChannelType,
  config: r.config as ChannelConfig,
  createdAt: isoRequired(r.created_at),
  updatedAt: isoRequired(r.updated_at),
})

export async function insertChannel (
  q: Queryable, c: { id: string, orgId: string, agentId: string, name: string, type: ChannelType, config: ChannelConfig },
): Promise<Channel> {
  const { rows } = await q.query(
    'INSERT INTO channels (id, org_id, agent_id, name, type, config) VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING *',
    [c.id, c.orgId, c.agentId, c.name, c.type, json(c.config)])
  return toChannel(rows[0])
}

/** The channel row, locked for update until the caller's transaction ends (an edit reads, checks, then writes). */
export async function lockChannel (q: Queryable, orgId: string, agentId: string, id: string): Promise<Channel | null> {
  const { rows } = await q.query('SELECT * FROM channels WHERE org_id = $1 AND agent_id = $2 AND id = $3 FOR UPDATE', [orgId, agentId, id])
  return rows[0] ? toChannel(rows[0]) : null
}

export async function updateChannel (q: Queryable, id: string, c: { name: string, config: ChannelConfig }): Promise<Channel> {
  const { rows } = await q.query('UPDATE channels SET name = $2, config = $3::jsonb, updated_at = now() WHERE id = $1 RETURNING *',
    [id, c.name, json(c.config)])
  return toChannel(rows[0])
}

export async function getChannel (q: Queryable, orgId: string, agentId: string, id: string): Promise<Channel | null> {
  const { rows } = await q.query('SELECT * FROM channels WHERE org_id = $1 AND agent_id = $2 AND id = $3', [orgId, agentId, id])
  return rows[0] ? toChannel(rows[0]) : null
}

export async function getChannelById (q: Queryable, id: string): Promise<Channel | null> {
  const { rows } = await q.query('SELECT * FROM channels WHERE id = $1', [id])
  return rows[0] ? toChannel(rows[0]) : null
}

export async function listChannels (q: Queryable, orgId: string, agentId: string): Promise<Channel[]> {
  const { rows } = await q.query('SELECT * FROM channels WHERE org_id = $1 AND agent_id = $2 ORDER BY id', [orgId, agentId])
  return rows.map(toChannel)
}

/** Ids of an agent's channels, all of them or those among `only` (unknown ids are ignored). */
export async function channelIdsOf (q: Queryable, agentId: string, only: 'all' | string[]): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM channels WHERE agent_id = $1 AND ($2::boolean OR id::text = ANY($3::text[])) ORDER BY id`,
    [agentId, only === 'all', only === 'all' ? [] : only])
  return rows.map(r => r.id)
}

export async function deleteChannel (q: Queryable, orgId: string, agentId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM channels WHERE org_id = $1 AND agent_id = $2 AND id = $3', [orgId, agentId, id])
  return rowCount > 0
}

/** Channels whose config refers to a vault entry (for the vault's "in use" check). */
export async function findChannelsUsingSecret (q: Queryable, orgId: string, secretId: string): Promise<Array<{ id: string, name: string, agentId: string }>> {
  const { rows } = await q.query(
    `SELECT id, name, agent_id FROM channels WHERE org_id = $1 AND config ? 'secretRef' AND config->>'secretRef' = $2 ORDER BY id`, [orgId, secretId])
  return rows.map(r => ({ id: r.id as string, name: `channel "${r.name as string}"`, agentId: r.agent_id as string }))
}

// ---- deliveries ----

export type DeliveryEvent = 'opened' | 'resolved'
export type DeliveryStatus = 'queued' | 'delivered' | 'failed'

export interface Delivery {
  id: string
  orgId: string
  channelId: string
  itemId: string
  event: DeliveryEvent
  status: DeliveryStatus
  attempts: number
  lastError: string | null
  lastStatus: number | null
  createdAt: string
  updatedAt: string
  deliveredAt: string | null
}

const toDelivery = (r: Record<string, unknown>): Delivery => ({
  id: r.id as string,
  orgId: r.org_id as string,
  channelId: r.channel_id as string,
  itemId: r.item_id as string,
  event: r.event as DeliveryEvent,
  status: r.status as DeliveryStatus,
  attempts: r.attempts as number,
  lastError: (r.last_error as string | null) ?? null,
  lastStatus: (r.last_status as number | null) ?? null,
  createdAt: isoRequired(r.created_at),
  updatedAt: isoRequired(r.updated_at),
  deliveredAt: iso(r.delivered_at),
})

/**
 * Records one queued delivery per (channel, item, event) for the given channels and returns the
 * rows created now: a (channel, item, event) already recorded is not announced twice.
 */
export async function insertDeliveries (
  q: Queryable, d: { orgId: string, itemId: string, event: DeliveryEvent, deliveries: Array<{ id: string, channelId: string }> },
): Promise<Delivery[]> {
  if (d.deliveries.length === 0) return []
  const { rows } = await q.query(
    `INSERT INTO channel_deliveries (id, org_id, channel_id, item_id, event, status)
     SELECT x.id, $1, x.channel_id, $2, $3, 'queued' FROM jsonb_to_recordset($4::jsonb) AS x(id uuid, channel_id uuid)
     ON CONFLICT (channel_id, item_id, event) DO NOTHING RETURNING *`,
    [d.orgId, d.itemId, d.event, json(d.deliveries.map(x => ({ id: x.id, channel_id: x.channelId })))])
  return rows.map(toDelivery)
}

export async function getDelivery (q: Queryable, id: string): Promise<Delivery | null> {
  const { rows } = await q.query('SELECT * FROM channel_deliveries WHERE id = $1', [id])
  return rows[0] ? toDelivery(rows[0]) : null
}

/** Records one attempt's outcome; `status` stays `queued` while retries remain. */
export async function recordDeliveryAttempt (
  q: Queryable, id: string, outcome: { status: DeliveryStatus, error: string | null, httpStatus: number | null },
): Promise<void> {
  await q.query(
    `UPDATE channel_deliveries SET attempts = attempts + 1, status = $2, last_error = $3, last_status = $4, updated_at = now(),
       delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
     WHERE id = $1`, [id, outcome.status, outcome.error, outcome.httpStatus])
}

export async function listDeliveriesOfItem (q: Queryable, itemId: string): Promise<Delivery[]> {
  const { rows } = await q.query('SELECT * FROM channel_deliveries WHERE item_id = $1 ORDER BY created_at, id', [itemId])
  return rows.map(toDelivery)
}

export async function listDeliveriesOfChannel (q: Queryable, channelId: string, limit: number): Promise<Delivery[]> {
  const { rows } = await q.query('SELECT * FROM channel_deliveries WHERE channel_id = $1 ORDER BY id DESC LIMIT $2', [channelId, limit])
  return rows.map(toDelivery)
}
