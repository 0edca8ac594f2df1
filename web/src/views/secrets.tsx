import { useState } from 'preact/hooks'
import { api, formErrors, seg } from '../api/client'
import type { ListResponse, Secret, SecretCreated, SecretType } from '../api/types'
import { CheckboxField, SelectField, TextAreaField, TextField } from '../components/fields'
import { Dialog } from '../components/dialog'
import { ConfirmDialog, FormActions, useFormState } from '../components/form'
import { Empty, ErrorState, FormError, Loading } from '../components/states'
import { formatDateTime } from '../lib/format'
import { useResource } from '../lib/resource'
import { useCan } from '../lib/me'

export const SECRET_TYPE_LABELS: Record<SecretType, string> = {
  aws: 'AWS access key',
  webhook: 'Webhook signing secret',
  http_header: 'HTTP header',
  azure: 'Azure storage account',
  sftp: 'SFTP login',
}

/** The value fields of each secret type, for people. */
const VALUE_LABELS: Record<string, string> = {
  accessKeyId: 'Access key ID',
  secretAccessKey: 'Secret key',
  sessionToken: 'Session token',
  signingSecret: 'Signing secret',
  name: 'Header',
  value: 'Value',
  accountName: 'Storage account',
  accountKey: 'Account key',
  sasToken: 'SAS token',
  sasExpiry: 'SAS expires',
  sasPermissions: 'SAS permissions',
  username: 'User name',
  password: 'Password',
  privateKey: 'Private key',
  passphrase: 'Passphrase',
}

/** "Secret key mt_byo_****EKEY" lines: the only form in which a secret value reaches the page. */
export function RedactedValues ({ redacted, inline }: { redacted?: Record<string, string>, inline?: boolean }) {
  const entries = Object.entries(redacted ?? {})
  if (entries.length === 0) return <span class="muted">—</span>
  if (inline) return <>{entries.map(([k, v], i) => <span key={k}>{i > 0 ? ', ' : ''}<code>{v}</code></span>)}</>
  return (
    <dl class="redacted">
      {entries.map(([k, v]) => <div key={k}><dt class="muted">{VALUE_LABELS[k] ?? k}</dt> <dd><code>{v}</code></dd></div>)}
    </dl>
  )
}

/** The organisation's vault entries: list, create, delete. Values are write-only. */
export function SecretsPanel ({ asPage = false }: { asPage?: boolean }) {
  const secrets = useResource<ListResponse<Secret>>('/secrets')
  const [creating, setCreating] = useState(false)
  const [generated, setGenerated] = useState<{ name: string, value: string } | null>(null)
  const [deleting, setDeleting] = useState<Secret | null>(null)
  const [editing, setEditing] = useState<Secret | null>(null)
  const canAdmin = useCan('admin')

  return (
    <div class="panel">
      <div class={asPage ? 'page-header' : 'section-header'}>
        <div>
          {asPage ? <h1>Secrets</h1> : <h2>Secrets</h2>}
          <p class="muted">Shared by every agent of the organisation. Values are write-only: after saving, only a redacted form is shown.</p>
        </div>
        {canAdmin && !creating && <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>New secret</button>}
      </div>
      {generated && <GeneratedSecret name={generated.name} value={generated.value} onDone={() => setGenerated(null)} />}
      {creating && (
        <SecretForm
          onCancel={() => setCreating(false)}
          onCreated={(secret, generatedValue) => {
            setCreating(false)
            secrets.setData(cur => cur ? { ...cur, items: [...cur.items, stripValue(secret)] } : cur)
            if (generatedValue) setGenerated({ name: secret.name, value: generatedValue })
            void secrets.reload()
          }}
        />
      )}
      {secrets.loading && <Loading label="Loading secrets…" />}
      {secrets.error && <ErrorState error={secrets.error} what="The secrets vault" onRetry={secrets.reload} />}
      {secrets.data && secrets.data.items.length === 0 && (
        <Empty title="No secrets yet.">
          <p>Store S3 credentials, SFTP logins, webhook signing secrets and HTTP header values here; data sources refer to them by name.</p>
        </Empty>
      )}
      {secrets.data && secrets.data.items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Secrets">
          <table class="table table-stack">
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Type</th><th scope="col">Value</th><th scope="col">Created</th><th scope="col">Rotated</th>
                <th scope="col"><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {secrets.data.items.map(s => (
                <tr key={s.id}>
                  <td class="stack-title">{s.name}</td>
                  <td data-label="Type">{SECRET_TYPE_LABELS[s.type] ?? s.type}</td>
                  <td data-label="Value" class="wrap"><RedactedValues redacted={s.redacted} /></td>
                  <td data-label="Created">{formatDateTime(s.createdAt)}</td>
                  <td data-label="Rotated">{s.rotatedAt ? formatDateTime(s.rotatedAt) : <span class="muted">never</span>}</td>
                  <td class="stack-actions">
                    {canAdmin && (
                      <>
                        <button type="button" class="btn btn-small" onClick={() => setEditing(s)} aria-label={`Edit secret ${s.name}`}>Edit</button>
                        <button type="button" class="btn btn-small btn-ghost" onClick={() => setDeleting(s)} aria-label={`Delete secret ${s.name}`}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <EditSecret
          secret={editing}
          onClose={() => setEditing(null)}
          onSaved={(saved, generatedValue) => {
            secrets.setData(cur => cur ? { ...cur, items: cur.items.map(s => s.id === saved.id ? saved : s) } : cur)
            setEditing(null)
            if (generatedValue) setGenerated({ name: saved.name, value: generatedValue })
          }}
        />
      )}
      {deleting && (
        <DeleteSecret
          secret={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={() => {
            secrets.setData(cur => cur ? { ...cur, items: cur.items.filter(s => s.id !== deleting.id) } : cur)
            setDeleting(null)
          }}
        />
      )}
    </div>
  )
}

/** Keeps only the listing fields of a POST answer, so no plaintext rides along in the list's state. */
const stripValue = (s: SecretCreated): Secret => ({
  id: s.id, name: s.name, type: s.type, createdAt: s.createdAt, rotatedAt: s.rotatedAt ?? null, redacted: s.redacted,
})

/** `multiline`: a textarea (a private key file), sent exactly as typed like every secret value. */
const VALUE_FIELDS: Record<SecretType, Array<{ name: string, label: string, secret: boolean, optional?: boolean, hint?: string, multiline?: boolean }>> = {
  aws: [
    { name: 'accessKeyId', label: 'Access key ID', secret: false },
    { name: 'secretAccessKey', label: 'Secret access key', secret: true },
    { name: 'sessionToken', label: 'Session token', secret: true, optional: true },
  ],
  webhook: [
    {
      name: 'signingSecret', label: 'Signing secret', secret: true, optional: true,
      hint: 'Leave empty to have Ferry generate one (whsec_…); it is shown once.',
    },
  ],
  http_header: [
    { name: 'name', label: 'Header name', secret: false, hint: 'For example Authorization or X-Api-Key.' },
    { name: 'value', label: 'Header value', secret: true, hint: 'For example "Bearer …".' },
  ],
  // exactly one of the key and the SAS token: the server says which is missing
  azure: [
    { name: 'accountName', label: 'Storage account name', secret: false, hint: 'For example contosoinventory (Azurite: devstoreaccount1).' },
    { name: 'accountKey', label: 'Account key', secret: true, optional: true, hint: 'key1 or key2 from the account\'s "Access keys"; or a SAS token instead.' },
    { name: 'sasToken', label: 'SAS token', secret: true, optional: true, hint: 'sv=…&sig=… with List and Read (sinks: Write, Create).' },
  ],
  sftp: [
    { name: 'username', label: 'User name', secret: false },
    { name: 'password', label: 'Password', secret: true, optional: true, hint: 'A password, a private key, or both.' },
    {
      name: 'privateKey', label: 'Private key', secret: true, optional: true, multiline: true,
      hint: 'The whole private key file (OpenSSH or PEM), BEGIN and END lines included. It is shown afterwards as its type and fingerprint only.',
    },
    { name: 'passphrase', label: 'Passphrase', secret: true, optional: true, hint: 'Only for an encrypted private key.' },
  ],
}

type ValueFieldSpec = (typeof VALUE_FIELDS)[SecretType][number]

/** Reads the value inputs and empties them, so the plaintext does not stay in the page after a submit. */
function takeValues (form: HTMLFormElement, fields: ValueFieldSpec[]): Record<string, string> {
  const value: Record<string, string> = {}
  for (const f of fields) {
    const input = form.elements.namedItem(`value.${f.name}`) as HTMLInputElement | HTMLTextAreaElement | null
    const v = input?.value ?? ''
    if (v !== '') value[f.name] = f.secret ? v : v.trim()
    if (input) input.value = ''
  }
  return value
}

/** Shows a failed save; the value inputs were emptied, so a value error asks for them again. */
function failValues (err: unknown, known: string[], fields: ValueFieldSpec[], fail: (f: Record<string, string>, form: string | null) => void): void {
  const { fields: fe, form: fm } = formErrors(err, [...known, 'value', ...fields.map(f => `value.${f.name}`)])
  fail(fe, fm ?? (Object.keys(fe).some(k => k.startsWith('value')) ? 'Enter the values again: they are cleared after each attempt.' : null))
}

/** One value input: uncontrolled, a password input for secret values, a textarea for a key file. */
function ValueField ({ f, error }: { f: ValueFieldSpec, error?: string }) {
  if (f.multiline) {
    return (
      <TextAreaField label={f.label} name={`value.${f.name}`} optional={f.optional} class="mono" autoComplete="off" spellcheck={false}
        error={error} hint={f.hint} />
    )
  }
  return (
    <TextField label={f.label} name={`value.${f.name}`} optional={f.optional}
      type={f.secret ? 'password' : 'text'} autoComplete={f.secret ? 'new-password' : 'off'} spellcheck={false} error={error} hint={f.hint} />
  )
}

/**
 * Creates a vault entry. The value inputs are uncontrolled (never copied into component state) and
 * emptied after every submit, failed or not: the plaintext does not stay in the DOM.
 */
export function SecretForm ({ onCreated, onCancel, fixedType }: {
  onCreated: (secret: SecretCreated, generated: string | null) => void
  onCancel: () => void
  fixedType?: SecretType
}) {
  const [name, setName] = useState('')
  const [type, setType] = useState<SecretType>(fixedType ?? 'aws')
  const { errors, setErrors, formError, busy, start, fail } = useFormState()
  const fields = VALUE_FIELDS[type]

  const submit = async (e: Event) => {
    e.preventDefault()
    const value = takeValues(e.currentTarget as HTMLFormElement, fields)
    start()
    try {
      // a webhook secret without a value is generated by the server (the value must be absent, not {})
      const generate = type === 'webhook' && Object.keys(value).length === 0
      const secret = await api.post<SecretCreated>('/secrets', { name: name.trim(), type, ...(generate ? {} : { value }) })
      const generated = generate ? (secret.signingSecret ?? null) : null
      onCreated(secret, generated)
    } catch (err) {
      failValues(err, ['name', 'type'], fields, fail)
    }
  }

  return (
    <form class="card form" onSubmit={submit} noValidate aria-label="New secret" autoComplete="off">
      <h3>New secret</h3>
      <TextField label="Name" name="name" value={name} required maxLength={200}
        onInput={(e) => setName(e.currentTarget.value)} error={errors.name}
        hint="How data sources will refer to it, e.g. acme-s3." />
      {!fixedType && (
        <SelectField label="Type" name="type" value={type} error={errors.type}
          onChange={(e) => { setType(e.currentTarget.value as SecretType); setErrors({}) }}
          options={(Object.keys(SECRET_TYPE_LABELS) as SecretType[]).map(t => ({ value: t, label: SECRET_TYPE_LABELS[t] }))} />
      )}
      <fieldset class="fieldset">
        <legend>Value <span class="muted">— write-only: it is never shown again</span></legend>
        {fields.map(f => (
          <ValueField key={`${type}.${f.name}`} f={f} error={errors[`value.${f.name}`] ?? (f === fields[0] ? errors.value : undefined)} />
        ))}
      </fieldset>
      <FormError error={formError} />
      <FormActions busy={busy} label="Save secret" busyLabel="Saving…" onCancel={onCancel} />
    </form>
  )
}

/** A new Standard Webhooks signing secret: "whsec_" + base64 of 32 random bytes. */
function newSigningSecret (): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `whsec_${btoa(String.fromCharCode(...bytes))}`
}

/**
 * Renames a secret and/or replaces its value (`PATCH /secrets/{id}`). The value inputs start empty
 * (the value is write-only) and an empty value keeps the current one; for a webhook secret
 * "Generate a new one" makes a value here and shows it once. The previous signing secret stays
 * valid for the rotation overlap (docs/security.md).
 */
function EditSecret ({ secret, onSaved, onClose }: {
  secret: Secret, onSaved: (s: Secret, generated: string | null) => void, onClose: () => void
}) {
  const [name, setName] = useState(secret.name)
  const [generate, setGenerate] = useState(false)
  const { errors, formError, busy, start, fail } = useFormState()
  const fields = VALUE_FIELDS[secret.type].map(f => ({ ...f, optional: true, hint: undefined }))

  const submit = async (e: Event) => {
    e.preventDefault()
    const value = takeValues(e.currentTarget as HTMLFormElement, fields)
    const generated = secret.type === 'webhook' && generate ? newSigningSecret() : null
    if (generated) value.signingSecret = generated
    const body: Record<string, unknown> = {}
    if (name.trim() !== secret.name) body.name = name.trim()
    if (Object.keys(value).length > 0) body.value = value
    if (Object.keys(body).length === 0) { onClose(); return }
    start()
    try {
      onSaved(await api.patch<Secret>(`/secrets/${seg(secret.id)}`, body), generated)
    } catch (err) {
      failValues(err, ['name'], fields, fail)
    }
  }

  return (
    <Dialog title={`Edit secret “${secret.name}”`} onClose={onClose}>
      <form class="form" onSubmit={submit} noValidate aria-label="Edit secret" autoComplete="off">
        <TextField label="Name" name="name" value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} error={errors.name} />
        <fieldset class="fieldset">
          <legend>New value <span class="muted">— leave empty to keep the current one</span></legend>
          <p class="hint">Current: <RedactedValues redacted={secret.redacted} inline /></p>
          {secret.type === 'webhook' && (
            <CheckboxField label="Generate a new signing secret" name="generate" checked={generate}
              onChange={(e) => setGenerate(e.currentTarget.checked)}
              hint="Shown once after saving. The previous signing secret stays valid for a while (24 hours by default) so senders can switch." />
          )}
          {!(secret.type === 'webhook' && generate) && fields.map(f => (
            <ValueField key={f.name} f={f} error={errors[`value.${f.name}`] ?? (f === fields[0] ? errors.value : undefined)} />
          ))}
        </fieldset>
        <FormError error={formError} />
        <FormActions busy={busy} label="Save changes" busyLabel="Saving…" onCancel={onClose} />
      </form>
    </Dialog>
  )
}

/** A generated webhook signing secret, shown once; "Done" removes it from the page. */
export function GeneratedSecret ({ name, value, onDone }: { name: string, value: string, onDone: () => void }) {
  const [copied, setCopied] = useState(false)
  return (
    <div class="card callout callout-warn" role="status">
      <p><strong>Copy the signing secret of “{name}” now.</strong> Ferry will not show it again; the sender of the webhook needs it to sign its requests.</p>
      <div class="copy-row">
        <input class="mono" readOnly value={value} aria-label="Generated signing secret" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" class="btn" onClick={() => { void navigator.clipboard?.writeText(value).then(() => setCopied(true)) }}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <button type="button" class="btn btn-primary" onClick={onDone}>I have stored it — hide it</button>
    </div>
  )
}

function DeleteSecret ({ secret, onClose, onDeleted }: { secret: Secret, onClose: () => void, onDeleted: () => void }) {
  // SECRET_IN_USE names the users (data sources, channels) in its message, which the dialog shows
  return (
    <ConfirmDialog title={`Delete secret “${secret.name}”?`} label="Delete secret" busyLabel="Deleting…"
      action={() => api.delete(`/secrets/${seg(secret.id)}`)} onDone={onDeleted} onClose={onClose}>
      <p>Sources that need it can no longer be pulled or pushed. This cannot be undone.</p>
    </ConfirmDialog>
  )
}
