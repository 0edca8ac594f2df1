import { useState } from 'preact/hooks'
import { api, ApiError, formErrors, seg } from '../api/client'
import type { Agent, Channel, ChannelDelivery, ChannelTestResult, ChannelType, ListResponse, Secret } from '../api/types'
import { StatusBadge } from '../components/badges'
import { SelectField, TextField } from '../components/fields'
import { Dialog } from '../components/dialog'
import { ConfirmDialog, FormActions, useFormState } from '../components/form'
import { Empty, ErrorState, FormError, Loading } from '../components/states'
import { formatDateTime, formatRelative } from '../lib/format'
import { useResource } from '../lib/resource'
import { RedactedValues } from './secrets'
import { useCan } from '../lib/me'

const TYPE_LABELS: Record<ChannelType, string> = { slack: 'Slack', webhook: 'Webhook', email: 'E-mail' }

/** The config each channel type is created with (`src/schemas/channels.ts`). */
function configFor (type: ChannelType, target: string, secretRef: string): Record<string, unknown> {
  if (type === 'slack') return { url: target.trim() }
  if (type === 'webhook') return { url: target.trim(), ...(secretRef ? { secretRef } : {}) }
  return { to: target.split(/[,;\s]+/).map(s => s.trim()).filter(Boolean) }
}

/**
 * A channel's target in one line. The API already redacts a Slack URL (it is a credential:
 * `https://hooks.slack.com/mt_byo_****abcd`); it is shown as the API sends it.
 */
function describeTarget (channel: Channel): string {
  const c = channel.config ?? {}
  if (Array.isArray(c.to)) return c.to.join(', ')
  if (typeof c.url === 'string') return c.url
  return '—'
}

export function ChannelsTab ({ agent }: { agent: Agent }) {
  const path = `/agents/${seg(agent.id)}/channels`
  const channels = useResource<ListResponse<Channel>>(path)
  const [adding, setAdding] = useState(false)
  const [results, setResults] = useState<Record<string, ChannelTestResult | 'busy'>>({})
  const [deleting, setDeleting] = useState<Channel | null>(null)
  const [history, setHistory] = useState<string | null>(null)
  const [editing, setEditing] = useState<Channel | null>(null)
  const canAdmin = useCan('admin')
  const canTest = useCan('operator')

  const test = async (channel: Channel) => {
    setResults(r => ({ ...r, [channel.id]: 'busy' }))
    try {
      const answer = await api.post<ChannelTestResult>(`${path}/${seg(channel.id)}/test`)
      setResults(r => ({ ...r, [channel.id]: answer }))
    } catch (err) {
      const e = err as ApiError
      setResults(r => ({ ...r, [channel.id]: { ok: false, message: e.routeMissing ? 'Testing is not available on this server yet (404).' : e.message } }))
    }
  }

  const notify = agent.rules?.onPullFailure?.notify
  return (
    <section class="panel" aria-labelledby="channels-title">
      <div class="section-header">
        <div>
          <h2 id="channels-title">Channels</h2>
          <p class="muted">Notified when a pending item opens and when it is resolved — not on every repeat.
            {Array.isArray(notify) &&
              <> This agent's rules notify only {notify.length === 1 ? 'one chosen channel' : `${notify.length} chosen channels`} about failed pulls.</>}
          </p>
        </div>
        {canAdmin && !adding && channels.data && <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>Add channel</button>}
      </div>
      {adding && (
        <ChannelForm path={path} onCancel={() => setAdding(false)} onCreated={(c) => {
          setAdding(false)
          channels.setData(cur => ({ items: [...(cur?.items ?? []), c] }))
        }} />
      )}
      {channels.loading && <Loading label="Loading channels…" />}
      {channels.error && !channels.data && <ErrorState error={channels.error} what="Channels" onRetry={channels.reload} />}
      {channels.data && channels.data.items.length === 0 && !adding && (
        <Empty title="No channels yet."><p>Add Slack, a webhook or e-mail to hear about failed pulls and pushes.</p></Empty>
      )}
      {channels.data && channels.data.items.length > 0 && (
        <ul class="channel-list">
          {channels.data.items.map(c => {
            const result = results[c.id]
            const label = TYPE_LABELS[c.type] ?? c.type
            const signing = c.redactedSecrets?.secretRef
            return (
              <li key={c.id} class="card channel-item" data-channel-id={c.id}>
                <div class="channel-main">
                  <strong>{c.name}</strong> <span class="small muted">{label}</span>
                  <code class="target channel-target">{describeTarget(c)}</code>
                  {signing && (
                    <span class="small muted">signed with {signing.name} <RedactedValues redacted={signing.redacted} inline /></span>
                  )}
                  <span class="small muted">added {formatDateTime(c.createdAt, agent.timezone)}</span>
                </div>
                <div class="actions">
                  {canTest && (
                    <button type="button" class="btn btn-small" disabled={result === 'busy'} onClick={() => test(c)} aria-label={`Test ${label} channel`}>
                      {result === 'busy' ? 'Testing…' : 'Test'}
                    </button>
                  )}
                  <button type="button" class="btn btn-small btn-ghost" aria-expanded={history === c.id}
                    onClick={() => setHistory(h => h === c.id ? null : c.id)}>
                    Notifications
                  </button>
                  {canAdmin && (
                    <button type="button" class="btn btn-small" onClick={() => setEditing(c)} aria-label={`Edit channel ${c.name}`}>Edit</button>
                  )}
                  {canAdmin && (
                    <button type="button" class="btn btn-small btn-ghost" onClick={() => setDeleting(c)} aria-label={`Delete ${label} channel`}>Delete</button>
                  )}
                </div>
                {result && result !== 'busy' && (
                  <p class={`channel-result ${result.ok ? 'text-ok small' : 'field-error'}`} role="status">
                    {result.ok ? 'Test sent: ' : 'Test failed: '}{result.message}
                    {result.status != null && !result.message.includes(String(result.status))
                      ? ` (${c.type === 'email' ? 'SMTP' : 'HTTP'} ${result.status})`
                      : ''}
                  </p>
                )}
                {history === c.id && <Deliveries path={`${path}/${seg(c.id)}/deliveries?limit=10`} agent={agent} />}
              </li>
            )
          })}
        </ul>
      )}
      {editing && (
        <Dialog title={`Edit channel “${editing.name}”`} onClose={() => setEditing(null)}>
          <ChannelForm path={path} channel={editing} onCancel={() => setEditing(null)} onCreated={(saved) => {
            setEditing(null)
            channels.setData(cur => cur && { ...cur, items: cur.items.map(c => c.id === saved.id ? saved : c) })
          }} />
        </Dialog>
      )}
      {deleting && (
        <DeleteChannel path={`${path}/${seg(deleting.id)}`} onClose={() => setDeleting(null)} onDeleted={() => {
          channels.setData(cur => cur && { ...cur, items: cur.items.filter(c => c.id !== deleting.id) })
          setDeleting(null)
        }} />
      )}
    </section>
  )
}

/** The channel's last notifications: what was sent about which event, and whether it arrived. */
function Deliveries ({ path, agent }: { path: string, agent: Agent }) {
  const deliveries = useResource<ListResponse<ChannelDelivery>>(path)
  if (deliveries.loading) return <Loading label="Loading notifications…" />
  if (deliveries.error) return <ErrorState error={deliveries.error} what="The notification history" onRetry={deliveries.reload} compact />
  const items = deliveries.data?.items ?? []
  if (items.length === 0) return <p class="muted small channel-deliveries">No notifications sent yet (tests are not recorded).</p>
  return (
    <ul class="channel-deliveries small">
      {items.map(d => (
        <li key={d.id}>
          <StatusBadge status={d.status === 'delivered' ? 'delivered' : d.status === 'queued' ? 'queued' : 'failed'}
            label={d.status === 'delivered' ? 'Delivered' : d.status === 'queued' ? 'Queued' : 'Failed'} />
          {' '}{d.event === 'opened' ? 'Item opened' : 'Item resolved'} · {formatDateTime(d.createdAt, agent.timezone)} ({formatRelative(d.createdAt)})
          {d.attempts > 1 && <> · {d.attempts} attempts</>}
          {d.lastError && d.status !== 'delivered' && <span class="muted"> · {d.lastError}</span>}
        </li>
      ))}
    </ul>
  )
}

/**
 * Adds a channel, or, given `channel`, edits it (`PATCH …/channels/{cid}`): its name and target
 * filled in, the type fixed. A Slack URL is a credential the API never shows again, so its input
 * starts empty and an empty one keeps the saved URL.
 */
function ChannelForm ({ path, channel, onCreated, onCancel }: {
  path: string, channel?: Channel, onCreated: (c: Channel) => void, onCancel: () => void
}) {
  const editing = channel !== undefined
  const [name, setName] = useState(channel?.name ?? '')
  const [type, setType] = useState<ChannelType>(channel?.type ?? 'slack')
  const [target, setTarget] = useState(channel && channel.type !== 'slack' ? describeTarget(channel) : '')
  const [secretRef, setSecretRef] = useState(channel?.config.secretRef ?? '')
  const { errors, setErrors, formError, setFormError, busy, start, fail } = useFormState()
  const secrets = useResource<ListResponse<Secret>>(type === 'webhook' ? '/secrets' : null)
  const targetField = type === 'email' ? 'config.to' : 'config.url'

  const submit = async (e: Event) => {
    e.preventDefault()
    start()
    try {
      let saved: Channel
      if (channel) {
        const keepUrl = type === 'slack' && !target.trim()
        const config = keepUrl ? undefined : { ...configFor(type, target, secretRef), ...(type === 'webhook' && !secretRef ? { secretRef: null } : {}) }
        saved = await api.patch<Channel>(`${path}/${seg(channel.id)}`, { name: name.trim() || channel.name, ...(config ? { config } : {}) })
      } else {
        saved = await api.post<Channel>(path, { ...(name.trim() ? { name: name.trim() } : {}), type, config: configFor(type, target, secretRef) })
      }
      // a Slack URL is a credential: don't keep it in the input once saved
      setTarget('')
      onCreated(saved)
    } catch (err) {
      const { fields, form } = formErrors(err, ['name', 'type', 'config', targetField, 'config.secretRef'])
      // "config.to.1" (one address of several) and "config" (the whole config) belong to the target input
      if (err instanceof ApiError && !fields[targetField]) {
        const named = Object.entries(err.fieldErrors()).find(([k]) => k === 'config' || k.startsWith(`${targetField}.`))
        if (named) fields[targetField] = named[1]
      }
      delete fields.config
      fail(fields, Object.keys(fields).length ? null : form)
    }
  }

  return (
    <form class={editing ? 'form' : 'card form'} onSubmit={submit} noValidate aria-label={editing ? 'Edit channel' : 'New channel'}>
      {!editing && <h3>New channel</h3>}
      <TextField label="Name" name="name" value={name} optional={!editing} maxLength={200} autoComplete="off"
        onInput={(e) => setName(e.currentTarget.value)} error={errors.name} hint={editing ? undefined : 'e.g. #ops-alerts; default: the type'} />
      <SelectField label="Type" name="type" value={type} error={errors.type} disabled={editing}
        onChange={(e) => { setType(e.currentTarget.value as ChannelType); setErrors({}); setFormError(null) }}
        options={(Object.keys(TYPE_LABELS) as ChannelType[]).map(t => ({ value: t, label: TYPE_LABELS[t] }))} />
      <TextField
        label={type === 'slack' ? 'Slack incoming-webhook URL' : type === 'webhook' ? 'Webhook URL' : 'E-mail addresses'}
        name={targetField} value={target} required={!(editing && type === 'slack')} optional={editing && type === 'slack'}
        autoComplete="off" spellcheck={false}
        type={type === 'slack' ? 'password' : type === 'email' ? 'text' : 'url'}
        onInput={(e) => setTarget(e.currentTarget.value)} error={errors[targetField]}
        hint={type === 'slack'
          ? editing
            ? `Saved: ${channel ? describeTarget(channel) : ''}. Leave empty to keep it; a new URL replaces it.`
            : 'https://hooks.slack.com/services/… — it works as a password, so it is not shown again.'
          : type === 'webhook'
            ? 'https://… — Ferry POSTs a JSON event here.'
            : 'Up to 20 addresses, separated by commas. Sent through the server\'s SMTP server.'} />
      {type === 'webhook' && (
        <SelectField label="Signing secret" name="config.secretRef" value={secretRef} optional error={errors['config.secretRef']}
          onChange={(e) => setSecretRef(e.currentTarget.value)}
          hint={secrets.error
            ? 'The secrets could not be loaded.'
            : 'Events are signed per Standard Webhooks with a webhook secret (create one under Secrets).'}
          options={[
            { value: '', label: '— unsigned —' },
            ...(secrets.data?.items ?? []).filter(s => s.type === 'webhook').map(s => ({ value: s.id, label: s.name })),
          ]} />
      )}
      <FormError error={formError} />
      <FormActions busy={busy} label={editing ? 'Save changes' : 'Save channel'} busyLabel="Saving…" onCancel={onCancel} />
    </form>
  )
}

function DeleteChannel ({ path, onClose, onDeleted }: { path: string, onClose: () => void, onDeleted: () => void }) {
  return (
    <ConfirmDialog title="Delete this channel?" label="Delete channel" busyLabel="Deleting…"
      action={() => api.delete(path)} onDone={onDeleted} onClose={onClose}>
      <p>It will no longer be notified about pending items.</p>
    </ConfirmDialog>
  )
}
