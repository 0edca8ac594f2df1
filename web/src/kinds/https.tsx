import { TextField } from '../components/fields'
import type { WebKind } from './types'

/** a globe: a file on the web */
const GlobeIcon = () => (
  <svg width={20} height={20} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width={1.8} stroke-linecap="round"
    stroke-linejoin="round" aria-hidden="true" focusable="false" class="icon">
    <circle cx="12" cy="12" r="9" /><path d="M3 12h18" /><path d="M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9S9.5 5.7 12 3z" />
  </svg>
)

/** A file at an HTTPS URL, fetched on the schedule with a conditional GET (src/kinds/https/): inventory sources only. */
export const httpsKind: WebKind = {
  type: 'https',
  label: 'HTTPS file',
  optionLabel: () => 'HTTPS file (a URL)',
  iconTitle: 'File at a URL',
  Icon: GlobeIcon,
  roles: ['INVENTORY_SOURCE'],
  pulled: true,
  defaults: { url: '', headerSecretRef: '' },
  Fields: ({ values: v, set, errors, secretSelect }) => (
    <>
      <TextField label="URL" name="config.url" value={v.url as string} required type="url" autoComplete="off" spellcheck={false}
        onInput={(e) => set('url', e.currentTarget.value)} error={errors['config.url']}
        hint="https://… of the file. Redirects are not followed; a file that did not change (ETag, Last-Modified or content) is not read again." />
      {secretSelect({
        label: 'Auth header secret', field: 'headerSecretRef', type: 'http_header', optional: true,
        hint: 'Sent with every request, e.g. Authorization: Bearer …',
      })}
    </>
  ),
  toConfig (v) {
    const config: Record<string, unknown> = { url: (v.url as string).trim() }
    if (v.headerSecretRef) config.headerSecretRef = v.headerSecretRef
    return config
  },
  formatDefault: () => 'Detect from the file',
  validateHint: () => 'Asks the URL for the file (HEAD) with the header secret. Unchecked, the source is saved as it is and marked as not checked.',
  target: (source) => {
    const url = typeof source.config?.url === 'string' ? source.config.url : ''
    try {
      const u = new URL(url)
      return `${u.origin}${u.pathname}`
    } catch {
      return url || '?'
    }
  },
  secretLabels: () => ({ headerSecretRef: 'Auth header' }),
}
