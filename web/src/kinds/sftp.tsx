import { TextField } from '../components/fields'
import type { WebKind } from './types'

const str = (v: string | boolean | undefined) => typeof v === 'string' ? v.trim() : ''

/** a server (decorative, like the other kinds' icons) */
const ServerIcon = () => (
  <svg width={20} height={20} viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width={1.8} stroke-linecap="round"
    stroke-linejoin="round" aria-hidden="true" focusable="false" class="icon">
    <rect x="3" y="4" width="18" height="7" rx="1.5" /><rect x="3" y="13" width="18" height="7" rx="1.5" />
    <path d="M7 7.5h.01M7 16.5h.01" />
  </svg>
)

/** SFTP servers (src/kinds/sftp/; docs/sftp.md). */
export const sftpKind: WebKind = {
  type: 'sftp',
  label: 'SFTP',
  optionLabel: () => 'SFTP server',
  iconTitle: 'SFTP server',
  Icon: ServerIcon,
  roles: ['INVENTORY_SOURCE', 'RESULTS_SINK'],
  pulled: true,
  defaults: { host: '', port: '22', path: '', hostKey: '', secretRef: '', pattern: '' },
  Fields: ({ values: v, set, errors, inbound, secretSelect }) => (
    <>
      <div class="field-row">
        <TextField label="Host" name="config.host" value={v.host as string} required autoComplete="off" spellcheck={false}
          onInput={(e) => set('host', e.currentTarget.value)} error={errors['config.host']} hint="e.g. sftp.supplier.example" />
        <TextField label="Port" name="config.port" value={v.port as string} autoComplete="off" spellcheck={false} inputMode="numeric"
          onInput={(e) => set('port', e.currentTarget.value)} error={errors['config.port']} />
      </div>
      <TextField label="Path" name="config.path" value={v.path as string} required autoComplete="off" spellcheck={false}
        onInput={(e) => set('path', e.currentTarget.value)} error={errors['config.path']}
        hint={inbound
          ? 'The directory Ferry lists, e.g. /outgoing/stock (relative paths start at the user\'s login directory)'
          : 'The directory each job\'s results are written to as job-<job id>.<format>; it must exist'} />
      <TextField label="Host key fingerprint" name="config.hostKey" value={v.hostKey as string} required autoComplete="off" spellcheck={false}
        class="mono" onInput={(e) => set('hostKey', e.currentTarget.value)} error={errors['config.hostKey']}
        hint={'SHA256:… as ssh-keygen -lf prints it for the server\'s host key. Ask the server\'s administrator; ' +
          'if you leave it empty, the check names the key the server presents so you can confirm it.'} />
      {secretSelect({ label: 'Credentials (SFTP secret)', field: 'secretRef', type: 'sftp', optional: false })}
      {inbound && (
        <TextField label="File pattern" name="config.pattern" value={v.pattern as string} optional autoComplete="off" spellcheck={false}
          onInput={(e) => set('pattern', e.currentTarget.value)} error={errors['config.pattern']}
          hint="A glob on the path below the directory, e.g. *.csv; with / or ** subdirectories are listed too" />
      )}
    </>
  ),
  toConfig (v, inbound) {
    const port = str(v.port)
    const config: Record<string, unknown> = { host: str(v.host), path: str(v.path), hostKey: str(v.hostKey), secretRef: v.secretRef }
    // a port that is not a number is sent as it is, for the API to name the field
    if (port !== '') config.port = /^\d+$/.test(port) ? Number(port) : port
    if (inbound && str(v.pattern)) config.pattern = str(v.pattern)
    return config
  },
  formatDefault: inbound => inbound ? 'Detect from each file' : 'CSV (default)',
  validateHint: () => 'Connects, checks the host key, logs in and lists the directory. Unchecked, the source is saved as it is and marked as not checked.',
  target: (source) => {
    // the API's config union is typed per kind by web/src/api/types.ts; this kind reads its own fields
    const c = (source.config ?? {}) as unknown as { host?: string, port?: number, path?: string }
    const port = c.port !== undefined && c.port !== 22 ? `:${c.port}` : ''
    return `sftp://${c.host ?? '?'}${port}${(c.path ?? '').startsWith('/') ? '' : '/~/'}${c.path ?? ''}`
  },
  secretLabels: () => ({ secretRef: 'Credentials' }),
}
