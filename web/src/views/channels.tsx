import { useState } from 'preact/hooks'
import { api, ApiError, formErrors, seg } from '../api/client'
import type { Agent, Channel, ChannelType, ListResponse } from '../api/types'
import { SelectField, TextField } from '../components/fields'
import { Dialog } from '../components/dialog'
import { Empty, ErrorState, FormError, Loading } from '../components/states'
import { useResource } from '../lib/resource'

const TYPE_LABELS: Record<ChannelType, string> = { slack: 'Slack', webhook: 'Webhook', email: 'E-mail' }

/**
 * The config each channel type is created with (the UI's reading of SPEC §2, see docs/decisions-ui.md):
 * slack { url }, webhook { url }, email { to: [addresses] } (the channels API, src/schemas/channels.ts).
 */
function configFor (type: ChannelType, target: string): Record<string, unknown> {
  if (type === 'slack') return { url: target.trim() }
  if (type === 'webhook') return { url: target.trim() }
  return { to: target.split(/[,;\s]+/).map(s => s.trim()).filter(Boolean) }
}

/** A channel's target, shown without anything that could act as a credential (a Slack URL is one). */
function describeTarget (channel: Channel): string {
  const c = channel.config ?? {}
  const to = c.to
  if (Array.isArray(to)) return to.join(', ')
  if (typeof to === 'string') return to
  const url = (c.webhookUrl ?? c.url) as unknown
  if (typeof url === 'string') {
    try { const u = new URL(url); return channel.type === 'slack' ? `${u.host}/…` : `${u.origin}${u.pathname}` } catch { return url.startsWith('mt_byo_') ? url : '—' }
  }
  return '—'
}

export function ChannelsTab ({ agent }: { agent: Agent }) {
  const path = `/agents/${seg(agent.id)}/channels`
  const channels = useResource<ListResponse<Channel>>(path)
  const [adding, setAdding] = useState(false)
  const [results, setResults] = useState<Record<string, { ok: boolean, message: string } | 'busy'>>({})
  const [deleting, setDeleting] = useState<Channel | null>(null)

  const test = async (channel: Channel) => {
    setResults(r => ({ ...r, [channel.id]: 'busy' }))
    try {
      const answer = await api.post<{ ok?: boolean, message?: string } | undefined>(`${path}/${seg(channel.id)}/test`)
      const ok = answer?.ok ?? true
      setResults(r => ({ ...r, [channel.id]: { ok, message: answer?.message ?? (ok ? 'Test notification sent.' : 'The test notification failed.') } }))
    } catch (err) {
      const e = err as ApiError
      setResults(r => ({ ...r, [channel.id]: { ok: false, message: e.routeMissing ? 'Testing is not available on this server yet (404).' : e.message } }))
    }
  }

  return (
    <section class="panel" aria-labelledby="channels-title">
      <div class="section-header">
        <div>
          <h2 id="channels-title">Channels</h2>
          <p class="muted">Notified when a pending item opens and when it is resolved — not on every repeat.</p>
        </div>
        {!adding && channels.data && <button type="button" class="btn btn-primary" onClick={() => setAdding(true)}>Add channel</button>}
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
            return (
              <li key={c.id} class="card channel-item">
                <div class="channel-main">
                  <strong>{c.name ?? TYPE_LABELS[c.type] ?? c.type}</strong>
                  <span class="muted">{c.name ? `${TYPE_LABELS[c.type] ?? c.type} · ` : ''}{describeTarget(c)}</span>
                </div>
                <div class="actions">
                  <button type="button" class="btn btn-small" disabled={result === 'busy'} onClick={() => test(c)}>{result === 'busy' ? 'Testing…' : 'Test'}</button>
                  <button type="button" class="btn btn-small btn-ghost" onClick={() => setDeleting(c)} aria-label={`Delete ${TYPE_LABELS[c.type] ?? c.type} channel`}>Delete</button>
                </div>
                {result && result !== 'busy' && <p class={result.ok ? 'text-ok small' : 'field-error'} role="status">{result.message}</p>}
              </li>
            )
          })}
        </ul>
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

function ChannelForm ({ path, onCreated, onCancel }: { path: string, onCreated: (c: Channel) => void, onCancel: () => void }) {
  const [type, setType] = useState<ChannelType>('slack')
  const [target, setTarget] = useState('')
  const [errors, setErrors] = useState<Record<string, string>>({})
  const [formError, setFormError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const targetField = type === 'slack' ? 'config.webhookUrl' : type === 'webhook' ? 'config.url' : 'config.to'

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setErrors({})
    setFormError(null)
    try {
      const channel = await api.post<Channel>(path, { type, config: configFor(type, target) })
      // a Slack URL is a credential: don't keep it in the input once saved
      setTarget('')
      onCreated(channel)
    } catch (err) {
      const { fields, form } = formErrors(err, ['type', 'config', targetField])
      if (fields.config && !fields[targetField]) { fields[targetField] = fields.config }
      delete fields.config
      setErrors(fields)
      setFormError(form)
      setBusy(false)
    }
  }

  return (
    <form class="card form" onSubmit={submit} noValidate aria-label="New channel">
      <h3>New channel</h3>
      <SelectField label="Type" name="type" value={type} error={errors.type}
        onChange={(e) => { setType(e.currentTarget.value as ChannelType); setErrors({}) }}
        options={(Object.keys(TYPE_LABELS) as ChannelType[]).map(t => ({ value: t, label: TYPE_LABELS[t] }))} />
      <TextField
        label={type === 'slack' ? 'Slack incoming-webhook URL' : type === 'webhook' ? 'Webhook URL' : 'E-mail addresses'}
        name={targetField} value={target} required autoComplete="off" spellcheck={false}
        type={type === 'slack' ? 'password' : type === 'email' ? 'text' : 'url'}
        onInput={(e) => setTarget(e.currentTarget.value)} error={errors[targetField]}
        hint={type === 'slack' ? 'https://hooks.slack.com/services/… — it works as a password, so it is not shown again.'
          : type === 'webhook' ? 'https://… — Ferry POSTs a JSON event here.' : 'Separate several addresses with commas.'} />
      <FormError error={formError} />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>{busy ? 'Saving…' : 'Save channel'}</button>
        <button type="button" class="btn btn-ghost" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  )
}

function DeleteChannel ({ path, onClose, onDeleted }: { path: string, onClose: () => void, onDeleted: () => void }) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const remove = async () => {
    setBusy(true)
    try { await api.delete(path); onDeleted() } catch (err) { setBusy(false); setError((err as Error).message) }
  }
  return (
    <Dialog title="Delete this channel?" onClose={onClose}>
      <p>It will no longer be notified about pending items.</p>
      <FormError error={error} />
      <div class="form-actions">
        <button type="button" class="btn btn-danger" onClick={remove} disabled={busy}>{busy ? 'Deleting…' : 'Delete channel'}</button>
        <button type="button" class="btn btn-ghost" onClick={onClose}>Cancel</button>
      </div>
    </Dialog>
  )
}
