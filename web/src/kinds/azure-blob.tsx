import { TextField } from '../components/fields'
import { BucketIcon } from '../components/icons'
import type { WebKind } from './types'

const str = (v: string | boolean | undefined) => typeof v === 'string' ? v.trim() : ''

/** Azure Blob Storage containers (src/kinds/azure-blob/): the storage account is the secret's. */
export const azureBlobKind: WebKind = {
  type: 'azure_blob',
  label: 'Azure Blob',
  optionLabel: () => 'Azure Blob container',
  iconTitle: 'Azure Blob container',
  Icon: BucketIcon,
  roles: ['INVENTORY_SOURCE', 'RESULTS_SINK'],
  pulled: true,
  defaults: { container: '', prefix: '', secretRef: '', endpoint: '', pattern: '' },
  Fields: ({ values: v, set, errors, inbound, secretSelect }) => (
    <>
      <TextField label="Container" name="config.container" value={v.container as string} required autoComplete="off" spellcheck={false}
        onInput={(e) => set('container', e.currentTarget.value)} error={errors['config.container']}
        hint="Lower-case letters, digits and hyphens, e.g. inventory" />
      <TextField label="Prefix" name="config.prefix" value={v.prefix as string} autoComplete="off" spellcheck={false}
        onInput={(e) => set('prefix', e.currentTarget.value)} error={errors['config.prefix']}
        hint={inbound
          ? 'The "folder" Ferry lists, e.g. daily-uploads/'
          : 'Each job\'s results are written under it as job-<job id>.<format>, e.g. ferry-results/'} />
      {secretSelect({
        label: 'Credentials (Azure secret)', field: 'secretRef', type: 'azure', optional: false,
        hint: 'The storage account name with its access key or a SAS token.',
      })}
      <TextField label="Endpoint" name="config.endpoint" value={v.endpoint as string} optional autoComplete="off" spellcheck={false} type="url"
        onInput={(e) => set('endpoint', e.currentTarget.value)} error={errors['config.endpoint']}
        hint="Only for an emulator or a custom domain, e.g. http://127.0.0.1:10000/devstoreaccount1 (default: https://<account>.blob.core.windows.net)" />
      {inbound && (
        <TextField label="File pattern" name="config.pattern" value={v.pattern as string} optional autoComplete="off" spellcheck={false}
          onInput={(e) => set('pattern', e.currentTarget.value)} error={errors['config.pattern']}
          hint="A glob on the blob name below the prefix, e.g. *.csv or 2025/**/*.xlsx" />
      )}
    </>
  ),
  toConfig (v, inbound) {
    const config: Record<string, unknown> = { container: str(v.container), prefix: str(v.prefix), secretRef: v.secretRef }
    if (str(v.endpoint)) config.endpoint = str(v.endpoint)
    if (inbound && str(v.pattern)) config.pattern = str(v.pattern)
    return config
  },
  formatDefault: inbound => inbound ? 'Detect from each file' : 'CSV (default)',
  validateHint: inbound => inbound
    ? 'Lists one blob of the container and prefix with the credentials. Unchecked, the source is saved as it is and marked as not checked.'
    : 'Lists the container and writes and deletes a small test blob with the credentials. Unchecked, the sink is saved as it is and marked as not checked.',
  target: (source) => {
    const c = source.config ?? {}
    return `${c.container ?? '?'}/${(c.prefix ?? '').replace(/^\/+/, '')}`
  },
  targetNote: ({ config: c }) => c.endpoint ? ` (${c.endpoint})` : undefined,
  secretLabels: () => ({ secretRef: 'Credentials' }),
}
