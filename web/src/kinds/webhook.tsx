import { TextField } from '../components/fields'
import { WebhookIcon } from '../components/icons'
import type { WebKind } from './types'

/** Webhooks: senders post files to Ferry (sources), Ferry posts results (sinks) (src/kinds/webhook/). */
export const webhookKind: WebKind = {
  type: 'webhook',
  label: 'Webhook',
  optionLabel: inbound => inbound ? 'Webhook (senders post files)' : 'Webhook (Ferry posts results)',
  iconTitle: 'Webhook',
  Icon: WebhookIcon,
  roles: ['INVENTORY_SOURCE', 'RESULTS_SINK'],
  pulled: false,
  arrival: { schedule: 'On receipt: each signed POST is a sync.', nextRun: 'on receipt' },
  defaults: { url: '', secretRef: '', headerSecretRef: '' },
  Fields: ({ values: v, set, errors, inbound, editing, secretSelect }) => inbound
    ? secretSelect({
      label: 'Signing secret (webhook secret)',
      field: 'secretRef',
      type: 'webhook',
      optional: editing ? false : '— generate a new one —',
      hint: 'Senders sign each request with it (Standard Webhooks). A generated secret is shown once, after saving; the receive URL appears on the source.',
    })
    : (
        <>
          <TextField label="URL" name="config.url" value={v.url as string} required type="url" autoComplete="off" spellcheck={false}
            onInput={(e) => set('url', e.currentTarget.value)} error={errors['config.url']} hint="https://… — Ferry POSTs each job's results here." />
          {secretSelect({ label: 'Signing secret', field: 'secretRef', type: 'webhook', optional: true })}
          {secretSelect({ label: 'Auth header secret', field: 'headerSecretRef', type: 'http_header', optional: true })}
        </>
      ),
  toConfig (v, inbound) {
    const config: Record<string, unknown> = {}
    if (!inbound) config.url = (v.url as string).trim()
    if (v.secretRef) config.secretRef = v.secretRef
    if (!inbound && v.headerSecretRef) config.headerSecretRef = v.headerSecretRef
    return config
  },
  // an inbound delivery's Content-Type says its format (one set through the API is kept on edit)
  formatDefault: inbound => inbound ? undefined : 'JSON (default)',
  validateHint: inbound => inbound ? undefined : 'Sends OPTIONS to the URL; it must not answer with a redirect or a 5xx.',
  target: (source) => source.role === 'INVENTORY_SOURCE'
    ? new URL(source.receiveUrl ?? `/api/v1/inbound/${source.id}`, location.origin).href
    : source.config?.url ?? '—',
  copyTarget: inbound => inbound ? 'Receive URL' : undefined,
  secretLabels: () => ({ secretRef: 'Signing secret', headerSecretRef: 'Header secret' }),
}
