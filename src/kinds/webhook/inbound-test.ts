import type { Deps } from '../../deps.js'
import { lastDelivery } from '../../db/sql/inbound.js'
import { receiveUrlOf, type DataSource } from '../../domain/source.js'
import { AppError } from '../../errors.js'
import { signingKey } from '../../inbound/signature.js'
import type { Checklist } from '../checklist.js'
import type { InboundWebhookConfig } from './config.js'

/**
 * The read-only test of an inbound webhook source: the signing secret resolves to a usable key,
 * the source accepts deliveries (enabled), and what its last delivery was — or that none came yet.
 */
export async function testInboundWebhook (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as InboundWebhookConfig
  const receiveUrl = receiveUrlOf(deps.config.publicUrl, source.id)
  await list.step('signing secret', async () => {
    const bytes = await deps.vault.withSecret(deps.db, source.orgId, config.secretRef, 'webhook', async (secret) => {
      const key = signingKey(secret.reveal().signingSecret)
      const n = key.length
      key.fill(0)
      return n
    })
    return { message: `The signing secret resolves (a ${bytes}-byte whsec_ key); deliveries must be signed with it.` }
  })
  await list.step('enabled', async () => {
    if (!source.enabled) throw new AppError('SOURCE_DISABLED', 'The source is disabled: deliveries to it are refused (404) until it is enabled again.')
    return { message: `The source accepts deliveries at POST ${receiveUrl}.` }
  })
  await list.step('last delivery', async () => {
    const last = await lastDelivery(deps.db, source.id)
    if (!last) return { message: `No delivery received yet. Send one to POST ${receiveUrl} (docs/recipes/push-inventory-to-ferry.md).` }
    const outcome = last.status === null
      ? 'its sync no longer exists'
      : last.status === 'failed'
        ? `the file was refused: ${last.error?.message ?? 'no reason recorded'}`
        : `${last.status}, ${last.rowsAccepted} row${last.rowsAccepted === 1 ? '' : 's'} accepted, ${last.rowsRejected} rejected`
    return { message: `Last delivery received ${last.receivedAt} (webhook-id ${last.webhookId}): ${outcome}.` }
  })
}
