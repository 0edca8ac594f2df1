import { useState } from 'preact/hooks'
import { api, formErrors } from '../api/client'
import type { Agent, DataSource, ListResponse, Secret, SecretCreated, SecretType, SourceRole, SourceType } from '../api/types'
import { CheckboxField, SelectField, TextField } from '../components/fields'
import { Dialog } from '../components/dialog'
import { FormError } from '../components/states'
import { cronInWords, describeCron } from '../lib/cron'
import { useResource, type Resource } from '../lib/resource'
import { GeneratedSecret, SecretForm, SECRET_TYPE_LABELS } from './secrets'
import { sourcePath, sourcesPath } from '../api/paths'
import { useCan } from '../lib/me'
import { EMPTY_IMPORT, IMPORT_FIELDS, ImportOptions, PreviewPanel, importConfig, importValuesOf, type ImportValues } from './import-options'

interface Values {
  name: string
  type: SourceType
  bucket: string
  prefix: string
  region: string
  secretRef: string
  endpoint: string
  forcePathStyle: boolean
  pattern: string
  format: string
  url: string
  headerSecretRef: string
  scheduleCron: string
  validate: boolean
}

const EMPTY: Values = {
  name: '', type: 's3', bucket: '', prefix: '', region: 'us-east-1', secretRef: '', endpoint: '', forcePathStyle: false,
  pattern: '', format: '', url: '', headerSecretRef: '', scheduleCron: '', validate: true,
}

/** Every input of the form, by the field path the API reports errors under. */
const FIELDS = ['name', 'type', 'role', 'scheduleCron', 'config', 'config.bucket', 'config.prefix', 'config.region', 'config.secretRef',
  'config.endpoint', 'config.forcePathStyle', 'config.pattern', 'config.format', 'config.url', 'config.headerSecretRef', ...IMPORT_FIELDS] as const

/** The form's values for a saved source (edit mode): its config as the API answers it. */
function valuesOf (source: DataSource): Values {
  const c = (source.config ?? {}) as unknown as Record<string, unknown>
  const str = (k: string) => typeof c[k] === 'string' ? c[k] as string : ''
  return {
    ...EMPTY,
    name: source.name, type: source.type, bucket: str('bucket'), prefix: str('prefix'), region: str('region') || EMPTY.region,
    secretRef: str('secretRef'), endpoint: str('endpoint'), forcePathStyle: c.forcePathStyle === true, pattern: str('pattern'),
    format: str('format'), url: str('url'), headerSecretRef: str('headerSecretRef'), scheduleCron: source.scheduleCron ?? '',
  }
}

/**
 * The PATCH body's config: the API merges a config patch onto the stored one (docs/formats.md),
 * so every setting the form no longer holds is sent as null, which clears it; nested objects
 * (parse, fieldMap) likewise, field by field.
 */
export function configPatch (stored: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...next }
  for (const [key, before] of Object.entries(stored)) {
    const after = next[key]
    if (after === undefined) out[key] = null
    else if (isObject(before) && isObject(after)) out[key] = configPatch(before, after)
  }
  return out
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Creates an inbound source or an outbound sink, or, given `source`, edits it (its values filled
 * in, the type fixed). Save-time validation (S3 listing, webhook OPTIONS) failures come back as
 * errors next to the field they concern (`details.field`, e.g. "config.bucket"), or above the
 * buttons when they concern none.
 */
export function SourceForm ({ agent, role, secrets, source, onCreated, onCancel }: {
  agent: Agent
  role: SourceRole
  secrets: Resource<ListResponse<Secret>>
  /** edit this source instead of creating one */
  source?: DataSource
  onCreated: (source: DataSource) => void
  onCancel: () => void
}) {
  const inbound = role === 'INVENTORY_SOURCE'
  const editing = source !== undefined
  const [v, setV] = useState<Values>(() => source ? valuesOf(source) : { ...EMPTY })
  const [imp, setImp] = useState<ImportValues>(() => source ? importValuesOf((source.config ?? {}) as unknown as Record<string, unknown>) : { ...EMPTY_IMPORT })
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const [newSecret, setNewSecret] = useState<{ field: 'secretRef' | 'headerSecretRef', type: SecretType } | null>(null)

  const set = <K extends keyof Values>(key: K, value: Values[K]) => {
    setV(cur => ({ ...cur, [key]: value }))
    const path = key === 'name' || key === 'type' || key === 'scheduleCron' ? key : `config.${key}`
    if (errors[path]) setErrors(({ [path]: _, ...rest }) => rest)
  }

  const secretOptions = (type: SecretType, optional: boolean | string) => [
    { value: '', label: typeof optional === 'string' ? optional : optional ? '— none —' : '— choose a secret —' },
    ...(secrets.data?.items ?? []).filter(s => s.type === type).map(s => ({ value: s.id, label: s.name })),
  ]

  const body = () => {
    const config: Record<string, unknown> = {}
    if (v.type === 's3') {
      Object.assign(config, { bucket: v.bucket.trim(), prefix: v.prefix.trim(), region: v.region.trim(), secretRef: v.secretRef })
      if (v.endpoint.trim()) { config.endpoint = v.endpoint.trim(); config.forcePathStyle = v.forcePathStyle }
      if (inbound && v.pattern.trim()) config.pattern = v.pattern.trim()
      if (v.format) config.format = v.format
    } else if (inbound) {
      if (v.secretRef) config.secretRef = v.secretRef
      // not an input for webhook sources (a delivery's Content-Type says it), but one set through the API is kept on edit
      if (v.format) config.format = v.format
    } else {
      config.url = v.url.trim()
      if (v.secretRef) config.secretRef = v.secretRef
      if (v.headerSecretRef) config.headerSecretRef = v.headerSecretRef
      if (v.format) config.format = v.format
    }
    // how the files are read: inventory sources only (docs/formats.md)
    if (inbound) Object.assign(config, importConfig(imp))
    return {
      name: v.name.trim(),
      role,
      type: v.type,
      config,
      ...(inbound && v.type === 's3' ? { scheduleCron: v.scheduleCron.trim() || null } : {}),
      ...(v.validate ? {} : { validate: false }),
    }
  }

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setErrors({})
    setFormError(null)
    try {
      if (source) {
        const { name, config, scheduleCron, validate } = body() as ReturnType<typeof body> & { scheduleCron?: string | null, validate?: boolean }
        onCreated(await api.patch<DataSource>(sourcePath(agent.id, source.id), {
          name,
          config: configPatch((source.config ?? {}) as unknown as Record<string, unknown>, config),
          ...(scheduleCron !== undefined ? { scheduleCron } : {}),
          ...(validate === false ? { validate: false } : {}),
        }))
      } else {
        onCreated(await api.post<DataSource>(sourcesPath(agent.id), body()))
      }
    } catch (err) {
      const { fields, form } = formErrors(err, FIELDS)
      // an error about the config as a whole belongs above the buttons
      if (fields.config) { delete fields.config }
      setErrors(fields)
      setFormError(form ?? null)
      setBusy(false)
      const first = Object.keys(fields)[0]
      if (first) (document.querySelector(`[data-source-form] [name="${first}"]`) as HTMLElement | null)?.focus()
    }
  }

  const title = source ? `Edit “${source.name}”` : inbound ? 'New inbound source' : 'New outbound sink'
  const cron = v.scheduleCron.trim()
  return (
    <>
      <form class="card form" onSubmit={submit} noValidate aria-label={title} data-source-form>
        {/* in edit mode the dialog's title says it */}
        {!editing && <h3>{title}</h3>}
        <TextField label="Name" name="name" value={v.name} required maxLength={200} autoComplete="off"
          onInput={(e) => set('name', e.currentTarget.value)} error={errors.name}
          hint={inbound ? 'e.g. daily drops' : 'e.g. ERP import'} />
        <SelectField label="Type" name="type" value={v.type} error={errors.type} disabled={editing}
          hint={editing ? 'The type of a saved source does not change; add a new source instead.' : undefined}
          onChange={(e) => { set('type', e.currentTarget.value as SourceType); set('secretRef', ''); set('headerSecretRef', '') }}
          options={[
            { value: 's3', label: 'S3 bucket' },
            { value: 'webhook', label: inbound ? 'Webhook (senders post files)' : 'Webhook (Ferry posts results)' },
          ]} />

        {v.type === 's3' && (
          <>
            <div class="field-row">
              <TextField label="Bucket" name="config.bucket" value={v.bucket} required autoComplete="off" spellcheck={false}
                onInput={(e) => set('bucket', e.currentTarget.value)} error={errors['config.bucket']} />
              <TextField label="Region" name="config.region" value={v.region} required autoComplete="off" spellcheck={false}
                onInput={(e) => set('region', e.currentTarget.value)} error={errors['config.region']} />
            </div>
            <TextField label="Prefix" name="config.prefix" value={v.prefix} autoComplete="off" spellcheck={false}
              onInput={(e) => set('prefix', e.currentTarget.value)} error={errors['config.prefix']}
              hint={inbound
                ? 'The "folder" Ferry lists, e.g. daily-uploads/'
                : 'Each job\'s results are written under it as job-<job id>.<format>, e.g. ferry-results/'} />
            <SecretSelect label="Credentials (AWS secret)" name="config.secretRef" value={v.secretRef} error={errors['config.secretRef']}
              options={secretOptions('aws', false)} onChange={(id) => set('secretRef', id)} onNew={() => setNewSecret({ field: 'secretRef', type: 'aws' })} />
            <TextField label="Endpoint" name="config.endpoint" value={v.endpoint} optional autoComplete="off" spellcheck={false} type="url"
              onInput={(e) => set('endpoint', e.currentTarget.value)} error={errors['config.endpoint']}
              hint="Only for S3-compatible stores (MinIO, R2, …): https://host:port" />
            {v.endpoint.trim() && (
              <CheckboxField label="Path-style addressing (host/bucket/key)" name="config.forcePathStyle" checked={v.forcePathStyle}
                onChange={(e) => set('forcePathStyle', e.currentTarget.checked)} />
            )}
            {inbound && (
              <TextField label="File pattern" name="config.pattern" value={v.pattern} optional autoComplete="off" spellcheck={false}
                onInput={(e) => set('pattern', e.currentTarget.value)} error={errors['config.pattern']}
                hint="A glob on the key below the prefix, e.g. *.csv or 2025/**/*.xlsx" />
            )}
          </>
        )}

        {v.type === 'webhook' && inbound && (
          <SecretSelect label="Signing secret (webhook secret)" name="config.secretRef" value={v.secretRef} error={errors['config.secretRef']}
            options={secretOptions('webhook', editing ? false : '— generate a new one —')}
            onChange={(id) => set('secretRef', id)} onNew={() => setNewSecret({ field: 'secretRef', type: 'webhook' })}
            hint={'Senders sign each request with it (Standard Webhooks). ' +
              'A generated secret is shown once, after saving; the receive URL appears on the source.'} />
        )}

        {v.type === 'webhook' && !inbound && (
          <>
            <TextField label="URL" name="config.url" value={v.url} required type="url" autoComplete="off" spellcheck={false}
              onInput={(e) => set('url', e.currentTarget.value)} error={errors['config.url']} hint="https://… — Ferry POSTs each job's results here." />
            <SecretSelect label="Signing secret" name="config.secretRef" value={v.secretRef} error={errors['config.secretRef']} optional
              options={secretOptions('webhook', true)} onChange={(id) => set('secretRef', id)}
              onNew={() => setNewSecret({ field: 'secretRef', type: 'webhook' })} />
            <SecretSelect label="Auth header secret" name="config.headerSecretRef" value={v.headerSecretRef} error={errors['config.headerSecretRef']} optional
              options={secretOptions('http_header', true)} onChange={(id) => set('headerSecretRef', id)}
              onNew={() => setNewSecret({ field: 'headerSecretRef', type: 'http_header' })} />
          </>
        )}

        {(v.type === 's3' || !inbound) && (
          <SelectField label="Format" name="config.format" value={v.format} error={errors['config.format']}
            onChange={(e) => set('format', e.currentTarget.value)}
            hint={inbound ? 'Detection uses the file extension, then the content. Zip archives are opened and each file in them is read.' : undefined}
            options={[
            // the server's defaults: detect per file (sources), CSV for S3 sinks, JSON for webhook sinks
              { value: '', label: inbound ? 'Detect from each file' : v.type === 's3' ? 'CSV (default)' : 'JSON (default)' },
              { value: 'csv', label: 'CSV' }, { value: 'json', label: 'JSON' }, { value: 'ndjson', label: 'NDJSON' }, { value: 'xlsx', label: 'XLSX' },
              ...(inbound ? [{ value: 'parquet', label: 'Parquet' }] : []),
            ]} />
        )}

        {inbound && v.type === 's3' && (
          <TextField label="Schedule (cron)" name="scheduleCron" value={v.scheduleCron} optional autoComplete="off" spellcheck={false} class="mono"
            placeholder={agent.scheduleCron}
            onInput={(e) => set('scheduleCron', e.currentTarget.value)} error={errors.scheduleCron}
            hint={cron
              ? (cronInWords(cron, agent.timezone)
                  ? <>Reads as: <strong>{cronInWords(cron, agent.timezone)}</strong>.</>
                  : 'Five fields: minute hour day-of-month month day-of-week.')
              : <>Empty: the agent's schedule ({describeCron(agent.scheduleCron, agent.timezone)}).</>} />
        )}

        {inbound && (
          <ImportOptions values={imp} errors={errors} onChange={(next) => { setImp(next); setErrors(({ config: _, ...rest }) => rest) }} />
        )}
        {inbound && v.type === 's3' && (
          <PreviewPanel path={`${sourcesPath(agent.id)}/preview`} body={() => previewBody(body())} />
        )}

        {(v.type === 's3' || !inbound) && (
          <CheckboxField label="Check the connection when saving" name="validate" checked={v.validate}
            onChange={(e) => set('validate', e.currentTarget.checked)}
            hint={v.type === 's3'
              ? 'Lists one object of the bucket and prefix with the credentials. Unchecked, the source is saved as it is and marked as not checked.'
              : 'Sends OPTIONS to the URL; it must not answer with a redirect or a 5xx.'} />
        )}

        <FormError error={formError} />
        <div class="form-actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : inbound ? 'Save source' : 'Save sink'}
          </button>
          <button type="button" class="btn btn-ghost" onClick={onCancel}>Cancel</button>
        </div>
      </form>
      {/* outside the form: a <form> inside a <form> would submit both */}
      {newSecret && (
        <NewSecretDialog type={newSecret.type}
          onClose={() => setNewSecret(null)}
          onCreated={(secret) => {
            secrets.setData(cur => ({
              items: [
                ...(cur?.items ?? []),
                { id: secret.id, name: secret.name, type: secret.type, createdAt: secret.createdAt, rotatedAt: secret.rotatedAt, redacted: secret.redacted },
              ],
            }))
            set(newSecret.field, secret.id)
            void secrets.reload()
          }} />
      )}
    </>
  )
}

/** Edits a saved source or sink in a dialog: the add form with the source's values filled in. */
export function EditSourceDialog ({ agent, source, onSaved, onClose }: {
  agent: Agent, source: DataSource, onSaved: (source: DataSource) => void, onClose: () => void
}) {
  const secrets = useResource<ListResponse<Secret>>('/secrets')
  return (
    <Dialog title={`Edit “${source.name}”`} onClose={onClose} wide>
      <SourceForm agent={agent} role={source.role} secrets={secrets} source={source} onCancel={onClose}
        onCreated={(saved) => { onSaved(saved); onClose() }} />
    </Dialog>
  )
}

/** The preview reads with the unsaved `{ type, role, config }`; the rest of the form does not matter to it. */
const previewBody = ({ type, role, config }: { type: SourceType, role: SourceRole, config: Record<string, unknown> }) => ({ type, role, config })

function SecretSelect ({ label, name, value, error, options, optional, hint, onChange, onNew }: {
  label: string, name: string, value: string, error?: string, optional?: boolean, hint?: string
  options: Array<{ value: string, label: string }>, onChange: (id: string) => void, onNew: () => void
}) {
  // secrets are the admin's: other roles pick from the existing ones
  const canCreateSecret = useCan('admin')
  return (
    <div class="field-with-action">
      <SelectField label={label} name={name} value={value} error={error} optional={optional} hint={hint}
        options={options} onChange={(e) => onChange(e.currentTarget.value)} />
      {canCreateSecret && <button type="button" class="btn btn-small" onClick={onNew}>New secret…</button>}
    </div>
  )
}

/** Creates a secret of one type without leaving the source form; a generated one is shown once. */
function NewSecretDialog ({ type, onCreated, onClose }: { type: SecretType, onCreated: (s: SecretCreated) => void, onClose: () => void }) {
  const [generated, setGenerated] = useState<{ name: string, value: string } | null>(null)
  return (
    <Dialog title={`New ${SECRET_TYPE_LABELS[type].toLowerCase()}`} onClose={onClose}>
      {generated
        ? <GeneratedSecret name={generated.name} value={generated.value} onDone={onClose} />
        : <SecretForm fixedType={type} onCancel={onClose} onCreated={(secret, value) => {
            onCreated(secret)
            if (value) setGenerated({ name: secret.name, value })
            else onClose()
          }} />}
    </Dialog>
  )
}
