import { createHmac, randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import type { TestApp } from './app.js'

/** An inbound webhook source and the signing secret its creation answered with. */
export interface InboundSource { id: string, secret: string }

export async function createInboundSource (t: TestApp, agentId: string, name: string): Promise<InboundSource> {
  const res = await t.api('POST', `/api/v1/agents/${agentId}/data-sources`, { body: { name, role: 'INVENTORY_SOURCE', type: 'webhook', config: {} } })
  expect(res.statusCode, res.body).toBe(201)
  return { id: res.json().id, secret: res.json().signingSecret }
}

/** Standard Webhooks headers for `body`, signed with the source's secret (a fresh webhook-id, now). */
export function signedHeaders (source: InboundSource, body: Buffer): Record<string, string> {
  const id = `msg_${randomUUID()}`
  const timestamp = String(Math.floor(Date.now() / 1000))
  const key = Buffer.from(source.secret.slice('whsec_'.length), 'base64')
  const signature = 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')
  return { 'content-type': 'text/csv', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }
}
