import { CheckboxField, TextField } from '../components/fields'
import { BucketIcon } from '../components/icons'
import type { WebKind } from './types'

const str = (v: string | boolean | undefined) => typeof v === 'string' ? v.trim() : ''

/** S3 buckets and S3-compatible stores (src/kinds/s3/). */
export const s3Kind: WebKind = {
  type: 's3',
  label: 'S3',
  optionLabel: () => 'S3 bucket',
  iconTitle: 'S3 bucket',
  Icon: BucketIcon,
  roles: ['INVENTORY_SOURCE', 'RESULTS_SINK'],
  pulled: true,
  defaults: { bucket: '', prefix: '', region: 'us-east-1', secretRef: '', endpoint: '', forcePathStyle: false, pattern: '' },
  Fields: ({ values: v, set, errors, inbound, secretSelect }) => (
    <>
      <div class="field-row">
        <TextField label="Bucket" name="config.bucket" value={v.bucket as string} required autoComplete="off" spellcheck={false}
          onInput={(e) => set('bucket', e.currentTarget.value)} error={errors['config.bucket']} />
        <TextField label="Region" name="config.region" value={v.region as string} required autoComplete="off" spellcheck={false}
          onInput={(e) => set('region', e.currentTarget.value)} error={errors['config.region']} />
      </div>
      <TextField label="Prefix" name="config.prefix" value={v.prefix as string} autoComplete="off" spellcheck={false}
        onInput={(e) => set('prefix', e.currentTarget.value)} error={errors['config.prefix']}
        hint={inbound
          ? 'The "folder" Ferry lists, e.g. daily-uploads/'
          : 'Each job\'s results are written under it as job-<job id>.<format>, e.g. ferry-results/'} />
      {secretSelect({ label: 'Credentials (AWS secret)', field: 'secretRef', type: 'aws', optional: false })}
      <TextField label="Endpoint" name="config.endpoint" value={v.endpoint as string} optional autoComplete="off" spellcheck={false} type="url"
        onInput={(e) => set('endpoint', e.currentTarget.value)} error={errors['config.endpoint']}
        hint="Only for S3-compatible stores (MinIO, R2, …): https://host:port" />
      {str(v.endpoint) && (
        <CheckboxField label="Path-style addressing (host/bucket/key)" name="config.forcePathStyle" checked={v.forcePathStyle === true}
          onChange={(e) => set('forcePathStyle', e.currentTarget.checked)} />
      )}
      {inbound && (
        <TextField label="File pattern" name="config.pattern" value={v.pattern as string} optional autoComplete="off" spellcheck={false}
          onInput={(e) => set('pattern', e.currentTarget.value)} error={errors['config.pattern']}
          hint="A glob on the key below the prefix, e.g. *.csv or 2025/**/*.xlsx" />
      )}
    </>
  ),
  toConfig (v, inbound) {
    const config: Record<string, unknown> = { bucket: str(v.bucket), prefix: str(v.prefix), region: str(v.region), secretRef: v.secretRef }
    if (str(v.endpoint)) { config.endpoint = str(v.endpoint); config.forcePathStyle = v.forcePathStyle === true }
    if (inbound && str(v.pattern)) config.pattern = str(v.pattern)
    return config
  },
  // the server's defaults: detect per file (sources), CSV for sinks
  formatDefault: inbound => inbound ? 'Detect from each file' : 'CSV (default)',
  validateHint: () => 'Lists one object of the bucket and prefix with the credentials. Unchecked, the source is saved as it is and marked as not checked.',
  target: (source) => {
    const c = source.config ?? {}
    return `s3://${c.bucket ?? '?'}/${(c.prefix ?? '').replace(/^\/+/, '')}`
  },
  targetNote: ({ config: c }) => c.region ? ` (${c.region}${c.endpoint ? `, ${c.endpoint}` : ''})` : undefined,
  secretLabels: () => ({ secretRef: 'Credentials' }),
}
