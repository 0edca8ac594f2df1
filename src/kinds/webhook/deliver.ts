import type { Deps } from '../../deps.js'
import { AppError } from '../../errors.js'
import { signWithEach } from '../../inbound/signature.js'
import { guardedRequest } from '../../net/guarded-http.js'
import type { AttemptOutcome } from '../../push/delivery.js'
import { CONTENT_TYPES, type ResultFormat } from '../../results/format.js'
import type { OutboundWebhookConfig } from './config.js'

/**
 * Headers a header secret may not set: Ferry's own, and those that frame the request. The vault
 * refuses these names when the secret is saved; checked again here, where it matters.
 */
const RESERVED_HEADERS = new Set([
  'content-type', 'content-length', 'host', 'transfer-encoding', 'connection', 'webhook-id', 'webhook-timestamp', 'webhook-signature',
])

/**
 * POST url, body = the results in the sink's format, signed per Standard Webhooks: `webhook-id`
 * stable per (job, sink), `webhook-timestamp` of this attempt, `webhook-signature` with the sink's
 * `webhook` secret (`standardwebhooks`), plus the optional `http_header` secret. Redirects are not
 * followed (guardedRequest never does). Secrets are revealed inside the vault calls only. Of the
 * receiver's answer only the status, content type and length are kept, never the body.
 */
export async function deliverWebhook (
  deps: Deps,
  sink: { orgId: string, config: OutboundWebhookConfig },
  attempt: { format: ResultFormat, webhookId: string, body: () => Promise<Buffer>, beforeSend: () => Promise<void> },
): Promise<AttemptOutcome> {
  const { config } = sink
  const { format, webhookId, beforeSend } = attempt
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  try {
    const reading = attempt.body()
    // awaited below, after other reads: a refusal (too large) must not count as unhandled meanwhile
    reading.catch(() => {})
    const send = async (extra: Record<string, string>): Promise<AttemptOutcome> => {
      const now = new Date()
      const headers: Record<string, string> = {
        'user-agent': 'Ferry-Webhooks/1',
        ...extra,
        'content-type': CONTENT_TYPES[format],
        'webhook-id': webhookId,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      }
      // the signing secrets are read while the body is (both are database reads)
      if (config.secretRef) headers['webhook-signature'] = await signWithEach(deps, sink.orgId, config.secretRef, webhookId, now, reading)
      const body = await reading
      await beforeSend()
      const res = await guardedRequest(config.url, {
        policy: deps.policy, method: 'POST', headers, body, timeoutMs: deps.config.targetTimeoutMs, maxResponseBytes: 4096,
      })
      return {
        kind: 'response', status: res.status, headers: res.headers, durationMs: elapsed(),
        contentType: res.contentType, contentLength: res.contentLength, bytes: body.length,
      }
    }
    if (!config.headerSecretRef) return await send({})
    return await deps.vault.withSecret(deps.db, sink.orgId, config.headerSecretRef, 'http_header', async (secret) => {
      const { name, value } = secret.reveal()
      if (RESERVED_HEADERS.has(name.toLowerCase())) {
        throw new AppError('VALIDATION_FAILED', `The header secret names "${name}", a header Ferry sets itself; use another header name.`, {
          details: { field: 'config.headerSecretRef' },
        })
      }
      return send({ [name.toLowerCase()]: value })
    })
  } catch (err) {
    if (err instanceof AppError && err.code === 'LEASE_LOST') throw err
    return { kind: 'error', error: err, durationMs: elapsed() }
  }
}
