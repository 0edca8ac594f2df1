import { useState } from 'preact/hooks'
import { api, formErrors } from '../api/client'
import type { Agent, DataSource, ListResponse, Secret, SecretCreated, SecretType, SourceRole, SourceType } from '../api/types'
import { FORMAT_DESCRIPTORS } from '../../../src/formats/catalogue'
import { WEB_KINDS, webKindOf } from '../kinds/registry'
import type { FieldValues, KindFieldsProps } from '../kinds/types'
import { CheckboxField, SelectField, TextField } from '../components/fields'
import { Dialog } from '../components/dialog'
import { FormActions, focusFirstError, useFormState } from '../components/form'
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
  format: string
  scheduleCron: string
  validate: boolean
  /** the kind's own config fields (web/src/kinds/<type>.tsx) */
  fields: FieldValues
}

const emptyValues = (type: SourceType): Values => ({
  name: '', type, format: '', scheduleCron: '', validate: true, fields: { ...webKindOf(type).defaults },
})

/** Every input of the form, by the field path the API reports errors under. */
const FIELDS = ['name', 'type', 'role', 'scheduleCron', 'config', 'config.format', ...IMPORT_FIELDS,
  ...new Set(WEB_KINDS.flatMap(k => Object.keys(k.defaults).map(f => `config.${f}`)))]

/** The form's values for a saved source (edit mode): its config as the API answers it. */
function valuesOf (source: DataSource): Values {
  const c = (source.config ?? {}) as unknown as Record<string, unknown>
  const empty = emptyValues(source.type)
  // a stored value of the field's kind (text or switch; a number, e.g. an SFTP port, as its text), a set one: else the kind's default
  const fields = Object.fromEntries(Object.entries(empty.fields).map(([k, d]) =>
    [k, typeof c[k] === 'number' && typeof d === 'string' ? String(c[k]) : typeof c[k] === typeof d && c[k] !== '' ? c[k] as string | boolean : d]))
  return {
    ...empty, name: source.name, format: typeof c.format === 'string' ? c.format : '', scheduleCron: source.scheduleCron ?? '', fields,
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
 * in, the type fixed). The fields of each kind are its module's (web/src/kinds/). Save-time validation failures come back as
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
  const kinds = WEB_KINDS.filter(k => k.roles.includes(role))
  const [v, setV] = useState<Values>(() => source ? valuesOf(source) : emptyValues(kinds[0].type as SourceType))
  const kind = webKindOf(v.type)
  const [imp, setImp] = useState<ImportValues>(() => source ? importValuesOf((source.config ?? {}) as unknown as Record<string, unknown>) : { ...EMPTY_IMPORT })
  const { errors, setErrors, formError, busy, start, fail } = useFormState()
  const [newSecret, setNewSecret] = useState<{ field: string, type: SecretType } | null>(null)

  const clearError = (path: string) => { if (errors[path]) setErrors(({ [path]: _, ...rest }) => rest) }
  const set = <K extends 'name' | 'format' | 'scheduleCron' | 'validate'>(key: K, value: Values[K]) => {
    setV(cur => ({ ...cur, [key]: value }))
    clearError(key === 'format' ? 'config.format' : key)
  }
  const setField = (field: string, value: string | boolean) => {
    setV(cur => ({ ...cur, fields: { ...cur.fields, [field]: value } }))
    clearError(`config.${field}`)
  }
  /** another kind: its fields, with what the person typed in fields of the same name kept, secrets chosen again */
  const setType = (type: SourceType) => {
    setV(cur => {
      const defaults = webKindOf(type).defaults
      const kept = Object.fromEntries(Object.entries(cur.fields).filter(([k]) => k in defaults && !/secretref$/i.test(k)))
      return { ...cur, type, fields: { ...defaults, ...kept } }
    })
    clearError('type')
  }

  const secretOptions = (type: SecretType, optional: boolean | string) => [
    { value: '', label: typeof optional === 'string' ? optional : optional ? '— none —' : '— choose a secret —' },
    ...(secrets.data?.items ?? []).filter(s => s.type === type).map(s => ({ value: s.id, label: s.name })),
  ]

  const body = () => {
    const config: Record<string, unknown> = kind.toConfig(v.fields, inbound)
    // a format set through the API is kept on edit even where the form offers no choice
    if (v.format) config.format = v.format
    // how the files are read: inventory sources only (docs/formats.md)
    if (inbound) Object.assign(config, importConfig(imp))
    return {
      name: v.name.trim(),
      role,
      type: v.type,
      config,
      ...(inbound && kind.pulled ? { scheduleCron: v.scheduleCron.trim() || null } : {}),
      ...(v.validate ? {} : { validate: false }),
    }
  }

  const secretSelect: KindFieldsProps['secretSelect'] = ({ label, field, type, optional, hint }) => (
    <SecretSelect label={label} name={`config.${field}`} value={String(v.fields[field] ?? '')} error={errors[`config.${field}`]}
      optional={optional === true} hint={hint} options={secretOptions(type, optional)}
      onChange={(id) => setField(field, id)} onNew={() => setNewSecret({ field, type })} />
  )
  const formatDefault = kind.formatDefault(inbound)
  const validateHint = kind.validateHint(inbound)

  const submit = async (e: Event) => {
    e.preventDefault()
    start()
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
      fail(fields, form ?? null)
      focusFirstError(fields, '[data-source-form]')
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
          onChange={(e) => setType(e.currentTarget.value as SourceType)}
          options={kinds.map(k => ({ value: k.type, label: k.optionLabel(inbound) }))} />

        <kind.Fields values={v.fields} set={setField} errors={errors} inbound={inbound} editing={editing} secretSelect={secretSelect} />

        {formatDefault !== undefined && (
          <SelectField label="Format" name="config.format" value={v.format} error={errors['config.format']}
            onChange={(e) => set('format', e.currentTarget.value)}
            hint={inbound ? 'Detection uses the file extension, then the content. Zip archives are opened and each file in them is read.' : undefined}
            options={[
              { value: '', label: formatDefault },
              // sinks write the formats results come in (src/formats/catalogue.ts)
              ...FORMAT_DESCRIPTORS.filter(d => inbound || d.results).map(d => ({ value: d.format, label: d.label })),
            ]} />
        )}

        {inbound && kind.pulled && (
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
        {inbound && kind.pulled && (
          <PreviewPanel path={`${sourcesPath(agent.id)}/preview`} body={() => previewBody(body())} />
        )}

        {validateHint !== undefined && (
          <CheckboxField label="Check the connection when saving" name="validate" checked={v.validate}
            onChange={(e) => set('validate', e.currentTarget.checked)} hint={validateHint} />
        )}

        <FormError error={formError} />
        <FormActions busy={busy} label={editing ? 'Save changes' : inbound ? 'Save source' : 'Save sink'} busyLabel="Saving…" onCancel={onCancel} />
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
            setField(newSecret.field, secret.id)
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
