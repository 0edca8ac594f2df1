import type { Deps } from '../../deps.js'
import { receiveUrlOf, type DataSource } from '../../domain/source.js'
import { AppError, isAppError } from '../../errors.js'
import { assertTargetUrl, guardedRequest } from '../../net/guarded-http.js'
import { resolveAllowed } from '../../net/guarded-lookup.js'
import { checkSecretResolves, hostOfUrl } from '../target-checks.js'
import type { Checklist } from '../checklist.js'
import type { InventoryRole, KindDeps, KindDescriptor, SinkRole } from '../types.js'
import { InboundWebhookConfig, OutboundWebhookConfig } from './config.js'
import { deliverWebhook } from './deliver.js'
import { testInboundWebhook } from './inbound-test.js'

/**
 * Webhooks, both directions in one folder: an inbound source receives files POSTed to Ferry
 * (src/inbound/, docs/inbound-webhooks.md); an outbound sink POSTs results to a URL (docs/push.md).
 * Neither moves files through a transport, so the kind has none.
 */

const inbound: InventoryRole<InboundWebhookConfig> = {
  config: InboundWebhookConfig,
  secrets: [{ field: 'secretRef', secretType: 'webhook', required: false }],
  pulled: false,
  noPreview: 'An inbound webhook source keeps no file to preview: deliveries are read as they arrive. ' +
    'Upload a sample through the inventory uploads page, with the same parse options, to see how it lands.',
  generatedSecret: { field: 'secretRef', secretType: 'webhook', name: sourceName => `${sourceName} (inbound signing secret)` },
  present: (deps, source) => ({ receiveUrl: receiveUrlOf(deps.config.publicUrl, source.id) }),
  test: testInboundWebhook,
}

/** OPTIONS url (docs/security.md): a redirect or a 5xx fails the save with a 422 naming config.url. */
async function ping (deps: KindDeps, _orgId: string, config: OutboundWebhookConfig): Promise<void> {
  const url = config.url
  try {
    const res = await guardedRequest(url, { policy: deps.policy, method: 'OPTIONS', timeoutMs: deps.config.targetTimeoutMs, maxResponseBytes: 4096 })
    if (res.status >= 300 && res.status < 400) {
      throw new AppError('SOURCE_VALIDATION_FAILED',
        `Validation failed: OPTIONS ${url} answered ${res.status} (a redirect); Ferry does not follow redirects, so give the final URL.`,
        { details: { field: 'config.url', reason: 'redirect', status: res.status } })
    }
    if (res.status >= 500) {
      throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: OPTIONS ${url} answered ${res.status}.`, {
        details: { field: 'config.url', reason: 'server_error', status: res.status },
      })
    }
  } catch (err) {
    if (isAppError(err) && err.code === 'SOURCE_VALIDATION_FAILED') throw err
    if (!isAppError(err)) throw err
    throw new AppError('SOURCE_VALIDATION_FAILED', `Validation failed: ${err.message}`, {
      details: { ...err.details, field: 'config.url', reason: err.details?.reason ?? err.code.toLowerCase() },
    })
  }
}

/** secrets resolve → DNS → allowed address → OPTIONS status (over verified TLS or not). */
async function testOutbound (deps: Deps, source: DataSource, list: Checklist): Promise<void> {
  const config = source.config as OutboundWebhookConfig
  const url = new URL(config.url)
  const host = hostOfUrl(config.url)
  const refs = [
    config.secretRef && { id: config.secretRef, type: 'webhook' as const },
    config.headerSecretRef && { id: config.headerSecretRef, type: 'http_header' as const },
  ]
  for (const ref of refs) {
    if (!ref) continue
    await checkSecretResolves(deps, list, ref.type === 'webhook' ? 'signing secret' : 'header secret', source.orgId, ref,
      `The ${ref.type === 'webhook' ? 'signing' : 'header'} secret resolves.`)
  }
  const addresses = await list.step('dns', async () => {
    const resolved = await resolveAllowed(host, deps.policy)
    return { message: `${host} resolves to ${resolved.map(a => a.address).join(', ')}.`, value: resolved }
  })
  if (!addresses) return
  await list.step('address', async () => ({ message: 'Every resolved address is allowed (not private, loopback or metadata).' }))
  await list.step('options', async () => {
    const res = await guardedRequest(config.url, { policy: deps.policy, method: 'OPTIONS', timeoutMs: deps.config.targetTimeoutMs, maxResponseBytes: 4096 })
    if (res.status >= 300 && res.status < 400) {
      throw new AppError('DELIVERY_FAILED', `OPTIONS answered ${res.status}, a redirect; Ferry does not follow redirects: configure the final URL.`)
    }
    if (res.status >= 500) throw new AppError('DELIVERY_FAILED', `OPTIONS answered ${res.status}: the receiver is failing.`)
    const tls = url.protocol === 'https:' ? ' over verified TLS' : ' (plain http: consider https)'
    return { message: `OPTIONS ${url.origin}${url.pathname} answered ${res.status} in ${res.durationMs} ms${tls}.` }
  })
}

const outbound: SinkRole<OutboundWebhookConfig> = {
  config: OutboundWebhookConfig,
  secrets: [
    { field: 'secretRef', secretType: 'webhook', required: false },
    { field: 'headerSecretRef', secretType: 'http_header', required: false },
  ],
  normalise (config, deps) {
    try {
      assertTargetUrl(config.url, deps.policy)
    } catch (err) {
      if (isAppError(err)) throw new AppError('SOURCE_VALIDATION_FAILED', err.message, { details: { field: 'config.url', reason: 'endpoint_refused' } })
      throw err
    }
    return { ...config, format: config.format ?? 'json' }
  },
  ping,
  test: testOutbound,
  defaultFormat: 'json',
  target: config => ({ key: config.url, describe: config.url }),
  deliver: deliverWebhook,
  recordsWebhookId: true,
}

export const webhookKind: KindDescriptor<InboundWebhookConfig, OutboundWebhookConfig> = {
  type: 'webhook',
  label: 'Webhook',
  roles: { INVENTORY_SOURCE: inbound, RESULTS_SINK: outbound },
}
