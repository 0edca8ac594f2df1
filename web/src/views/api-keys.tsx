import { useState } from 'preact/hooks'
import { api, formErrors, seg } from '../api/client'
import type { ApiKey, ApiKeyCreated, ListResponse, Role } from '../api/types'
import { SelectField, TextField } from '../components/fields'
import { ConfirmDialog, FormActions, useFormState } from '../components/form'
import { Empty, ErrorState, FormError, Loading } from '../components/states'
import { formatDateTime, formatRelative } from '../lib/format'
import { useCan, useMe } from '../lib/me'
import { useResource } from '../lib/resource'

export const ROLE_LABELS: Record<Role, string> = {
  viewer: 'Viewer — reads everything, changes nothing',
  operator: 'Operator — tests, pulls, pushes, resolves; creates and edits agents and sources',
  admin: 'Admin — everything, including secrets, channels and API keys',
}

/** Expiry choices in days (0 = never); a key that has expired answers 401. */
const EXPIRY_DAYS = [0, 1, 7, 30, 90, 365]

/** The organisation's API keys: create one with a role and an expiry (shown once), list, revoke. Creating and revoking are for admin keys. */
export function ApiKeysPage () {
  const keys = useResource<ListResponse<ApiKey>>('/api-keys')
  const canAdmin = useCan('admin')
  const me = useMe()
  const [creating, setCreating] = useState(false)
  const [created, setCreated] = useState<ApiKeyCreated | null>(null)
  const [revoking, setRevoking] = useState<ApiKey | null>(null)

  return (
    <section class="panel" aria-labelledby="api-keys-title">
      <div class="page-header">
        <div>
          <h1 id="api-keys-title">API keys</h1>
          <p class="muted">Each key has a role. A key is shown once, when it is created; Ferry keeps only its hash.</p>
        </div>
        {canAdmin && !creating && <button type="button" class="btn btn-primary" onClick={() => { setCreated(null); setCreating(true) }}>New API key</button>}
      </div>
      {created && <CreatedKey created={created} onDone={() => setCreated(null)} />}
      {creating && (
        <ApiKeyForm
          onCancel={() => setCreating(false)}
          onCreated={(c) => {
            setCreating(false)
            setCreated(c)
            void keys.reload()
          }}
        />
      )}
      {keys.loading && <Loading label="Loading API keys…" />}
      {keys.error && <ErrorState error={keys.error} what="The API keys" onRetry={keys.reload} />}
      {keys.data && keys.data.items.length === 0 && <Empty title="No API keys." />}
      {keys.data && keys.data.items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="API keys">
          <table class="table table-stack">
            <thead>
              <tr>
                <th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th>
                <th scope="col"><span class="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              {keys.data.items.map(k => {
                const expired = k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now()
                return (
                  <tr key={k.id} data-key-id={k.id}>
                    <td class="stack-title">
                      {k.name}{k.hint && <> <code class="muted">…{k.hint}</code></>}{k.id === me?.apiKey.id && <span class="muted"> (this key)</span>}
                    </td>
                    <td data-label="Role">{k.role}</td>
                    <td data-label="Created">{formatDateTime(k.createdAt)}</td>
                    <td data-label="Last used">{k.lastUsedAt ? formatRelative(k.lastUsedAt) : <span class="muted">never</span>}</td>
                    <td data-label="Expires">
                      {k.expiresAt
                        ? <span class={expired ? 'muted' : undefined}>{expired ? 'expired ' : ''}{formatDateTime(k.expiresAt)}</span>
                        : <span class="muted">never</span>}
                    </td>
                    <td class="stack-actions">
                      {canAdmin && k.id !== me?.apiKey.id && (
                        <button type="button" class="btn btn-small btn-ghost" onClick={() => setRevoking(k)} aria-label={`Revoke API key ${k.name}`}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
      {revoking && (
        <RevokeKey
          apiKey={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={() => {
            keys.setData(cur => cur ? { ...cur, items: cur.items.filter(k => k.id !== revoking.id) } : cur)
            setRevoking(null)
          }}
        />
      )}
    </section>
  )
}

function ApiKeyForm ({ onCreated, onCancel }: { onCreated: (c: ApiKeyCreated) => void, onCancel: () => void }) {
  const [name, setName] = useState('')
  const [role, setRole] = useState<Role>('viewer')
  const [days, setDays] = useState('0')
  const { errors, formError, busy, start, fail } = useFormState()

  const submit = async (e: Event) => {
    e.preventDefault()
    start()
    try {
      const expiresAt = Number(days) > 0 ? new Date(Date.now() + Number(days) * 86_400_000).toISOString() : undefined
      onCreated(await api.post<ApiKeyCreated>('/api-keys', { name: name.trim(), role, ...(expiresAt ? { expiresAt } : {}) }))
    } catch (err) {
      const { fields, form } = formErrors(err, ['name', 'role', 'expiresAt'])
      fail(fields, form)
    }
  }

  return (
    <form class="card form" onSubmit={submit} noValidate aria-label="New API key" autoComplete="off">
      <h3>New API key</h3>
      <TextField label="Name" name="name" value={name} required maxLength={200} error={errors.name}
        onInput={(e) => setName(e.currentTarget.value)} hint="Who or what uses it, e.g. dashboard or ci." />
      <SelectField label="Role" name="role" value={role} error={errors.role} onChange={(e) => setRole(e.currentTarget.value as Role)}
        options={(Object.keys(ROLE_LABELS) as Role[]).map(r => ({ value: r, label: ROLE_LABELS[r] }))} />
      <SelectField label="Expires" name="expiresAt" value={days} error={errors.expiresAt} onChange={(e) => setDays(e.currentTarget.value)}
        options={EXPIRY_DAYS.map(d => ({ value: String(d), label: d === 0 ? 'Never' : d === 1 ? 'In 1 day' : `In ${d} days` }))} />
      <FormError error={formError} />
      <FormActions busy={busy} label="Create key" busyLabel="Creating…" onCancel={onCancel} />
    </form>
  )
}

/** The new key's plaintext, shown once; "hide it" removes it from the page. */
function CreatedKey ({ created, onDone }: { created: ApiKeyCreated, onDone: () => void }) {
  const [copied, setCopied] = useState(false)
  return (
    <div class="card callout callout-warn" role="status">
      <p><strong>Copy the key “{created.key.name}” ({created.key.role}) now.</strong> Ferry will not show it again.</p>
      <div class="copy-row">
        <input class="mono" readOnly value={created.apiKey} aria-label="New API key" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" class="btn" onClick={() => { void navigator.clipboard?.writeText(created.apiKey).then(() => setCopied(true)) }}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      <button type="button" class="btn btn-primary" onClick={onDone}>I have stored it — hide it</button>
    </div>
  )
}

function RevokeKey ({ apiKey, onClose, onRevoked }: { apiKey: ApiKey, onClose: () => void, onRevoked: () => void }) {
  return (
    <ConfirmDialog title={`Revoke API key “${apiKey.name}”?`} label="Revoke key" busyLabel="Revoking…"
      action={() => api.delete(`/api-keys/${seg(apiKey.id)}`)} onDone={onRevoked} onClose={onClose}>
      <p>Everything that uses it stops working. This cannot be undone.</p>
    </ConfirmDialog>
  )
}
