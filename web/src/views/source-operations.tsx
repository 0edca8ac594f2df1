import { useEffect, useMemo, useState } from 'preact/hooks'
import { api, ApiError, seg } from '../api/client'
import type { Agent, DataSource, ListResponse, PendingItem, Sync } from '../api/types'
import { Pill, StatusBadge } from '../components/badges'
import { Dialog } from '../components/dialog'
import { SelectField } from '../components/fields'
import { FormError } from '../components/states'
import { formatDateTime, formatRelative } from '../lib/format'
import { useCan } from '../lib/me'
import { useResource } from '../lib/resource'
import { links } from '../lib/router'
import { webKindOf } from '../kinds/registry'
import { SyncHistory, TRIGGER_LABELS } from './syncs'

/** Syncs per page on the source page (the API allows up to 200). */
const PAGE = 20

const STATUS_OPTIONS = [
  { value: '', label: 'Any status' },
  ...['running', 'retrying', 'succeeded', 'partial', 'failed', 'cancelled'].map(s => ({ value: s, label: s[0]!.toUpperCase() + s.slice(1) })),
]
const TRIGGER_OPTIONS = [{ value: '', label: 'Any trigger' }, ...Object.entries(TRIGGER_LABELS).map(([value, label]) => ({ value, label }))]

/**
 * The whole sync history of a source, a page at a time (keyset cursor, "Load more"), filtered by
 * status and trigger; a running sync can be cancelled, a push waiting for a retry retried now.
 */
export function PagedHistory ({ agent, base, version, onOpen, onChanged }: {
  agent: Agent, base: string, version: number, onOpen: (syncId: string) => void, onChanged: () => void
}) {
  const canRun = useCan('operator')
  const [status, setStatus] = useState('')
  const [trigger, setTrigger] = useState('')
  const query = `${base}/syncs?limit=${PAGE}${status ? `&status=${status}` : ''}${trigger ? `&trigger=${trigger}` : ''}`
  const first = useResource<ListResponse<Sync>>(query)
  const [more, setMore] = useState<{ items: Sync[], nextCursor: string | null } | null>(null)
  const [loadingMore, setLoadingMore] = useState(false)
  const [actionError, setActionError] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)

  // a new first page (filters changed, a sync ended) starts the list again
  useEffect(() => { setMore(null) }, [first.data])
  useEffect(() => { if (version > 0) void first.reload() }, [version])

  const items = useMemo(() => [...(first.data?.items ?? []), ...(more?.items ?? [])], [first.data, more])
  const cursor = more ? more.nextCursor : first.data?.nextCursor ?? null

  const loadMore = async () => {
    if (!cursor) return
    setLoadingMore(true)
    try {
      const page = await api.get<ListResponse<Sync>>(`${query}&cursor=${encodeURIComponent(cursor)}`)
      setMore(m => ({ items: [...(m?.items ?? []), ...page.items], nextCursor: page.nextCursor ?? null }))
    } catch (err) {
      setActionError((err as Error).message)
    } finally {
      setLoadingMore(false)
    }
  }

  const act = async (sync: Sync, action: 'cancel' | 'retry') => {
    setBusy(`${action}:${sync.id}`)
    setActionError(null)
    try {
      await api.post(`${base}/syncs/${seg(sync.id)}/${action}`)
      onChanged()
    } catch (err) {
      const e = err as ApiError
      setActionError(e.code === 'SYNC_FINISHED' ? 'That sync had already finished.' : e.message)
      onChanged()
    } finally {
      setBusy(null)
    }
  }

  const actions = canRun
    ? (sync: Sync) => (
        <span class="nowrap">
          {sync.status === 'retrying' && (
            <button type="button" class="btn btn-small" disabled={busy !== null} onClick={() => act(sync, 'retry')}>
              {busy === `retry:${sync.id}` ? 'Retrying…' : 'Retry now'}
            </button>
          )}
          {(sync.status === 'running' || sync.status === 'retrying') && (
            <button type="button" class="btn btn-small btn-ghost" disabled={busy !== null} onClick={() => act(sync, 'cancel')}>
              {busy === `cancel:${sync.id}` ? 'Cancelling…' : 'Cancel'}
            </button>
          )}
        </span>
      )
    : undefined

  return (
    <div class="history">
      <div class="history-head">
        <h4>Sync history <span class="muted small">newest first, times in {agent.timezone}</span></h4>
        <div class="history-filters">
          <SelectField label="Status" name="status" value={status} options={STATUS_OPTIONS}
            onChange={(e) => setStatus((e.currentTarget as HTMLSelectElement).value)} />
          <SelectField label="Trigger" name="trigger" value={trigger} options={TRIGGER_OPTIONS}
            onChange={(e) => setTrigger((e.currentTarget as HTMLSelectElement).value)} />
        </div>
      </div>
      {actionError && <p class="callout callout-bad" role="alert">{actionError}</p>}
      <SyncHistory agent={agent} syncs={first} items={items} onOpen={onOpen} limit={items.length} actions={actions} />
      {cursor && (
        <button type="button" class="btn btn-small history-more" onClick={loadMore} disabled={loadingMore}>
          {loadingMore ? 'Loading…' : 'Load more'}
        </button>
      )}
    </div>
  )
}

/** Backfill: forget the ledger (all, or files modified since a date) after a confirmation. */
export function ResetDialog ({ base, source, onClose }: { base: string, source: DataSource, onClose: () => void }) {
  const [since, setSince] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [done, setDone] = useState<number | null>(null)
  const reset = async () => {
    setBusy(true)
    setError(null)
    try {
      const answer = await api.post<{ forgotten: number }>(`${base}/reset`, since ? { since } : {})
      setDone(answer.forgotten)
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dialog title={`Reset “${source.name}”?`} onClose={onClose}>
      {done === null
        ? (
            <>
              <p>
                Ferry forgets which files it has taken from this source, so the <strong>next pull ingests them again</strong> as new uploads.
                Leave the date empty to forget every file, or pick a date to forget only files last modified on or after it.
              </p>
              <div class="field">
                <label for="reset-since">Files modified since<span class="optional"> (optional, UTC)</span></label>
                <input id="reset-since" type="date" name="since" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
              </div>
              <FormError error={error} />
              <div class="form-actions">
                <button type="button" class="btn btn-danger" onClick={reset} disabled={busy}>{busy ? 'Resetting…' : 'Reset'}</button>
                <button type="button" class="btn btn-ghost" onClick={onClose}>Cancel</button>
              </div>
            </>
          )
        : (
            <>
              <p role="status" data-forgotten={done}>
                {done === 1 ? '1 file was' : `${done} files were`} forgotten; the next pull takes {done === 1 ? 'it' : 'them'} again.
              </p>
              <div class="form-actions"><button type="button" class="btn btn-primary" onClick={onClose}>Done</button></div>
            </>
          )}
    </Dialog>
  )
}

/** The agent's sources at a glance: a link to each one's page, its last sync, next run and open items. */
export function SourcesOverview ({ agent, sources }: { agent: Agent, sources: DataSource[] }) {
  const pending = useResource<ListResponse<PendingItem>>(`/agents/${seg(agent.id)}/pending-items?status=open`)
  const open = new Map<string, number>()
  for (const item of pending.data?.items ?? []) open.set(item.sourceId, (open.get(item.sourceId) ?? 0) + 1)
  return (
    <div class="table-wrap sources-overview" tabIndex={0} role="region" aria-label="Sources at a glance">
      <table class="table table-stack">
        <caption class="sr-only">Every source and sink of the agent with its health. Times in {agent.timezone}.</caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Last sync</th>
            <th scope="col">Next run</th>
            <th scope="col">Open items</th>
          </tr>
        </thead>
        <tbody>
          {sources.map(s => (
            <tr key={s.id} data-overview-id={s.id}>
              <td class="stack-title">
                <a href={links.source(agent.id, s.id)}>{s.name}</a>
                <span class="muted small"> {webKindOf(s.type).label} {s.role === 'INVENTORY_SOURCE' ? 'source' : 'sink'}</span>
                {!s.enabled && <> <Pill>Disabled</Pill></>}
              </td>
              <td data-label="Last sync">
                {s.lastSync
                  ? <><StatusBadge status={s.lastSync.status} /> <span class="muted small">{formatRelative(lastAt(s))}</span></>
                  : <span class="muted">never</span>}
              </td>
              <td data-label="Next run">
                {s.nextPullAt && s.enabled
                  ? <time dateTime={s.nextPullAt} title={formatDateTime(s.nextPullAt, agent.timezone)}>{formatRelative(s.nextPullAt)}</time>
                  : <span class="muted">{nextRunWords(s)}</span>}
              </td>
              <td data-label="Open items">{open.get(s.id) ? <Pill tone="bad">{String(open.get(s.id))}</Pill> : <span class="muted">0</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

const lastAt = (s: DataSource) => s.lastSync?.finishedAt ?? s.lastSync?.startedAt ?? null

/** When a source without a next scheduled pull runs. */
const nextRunWords = (s: DataSource) =>
  s.role === 'RESULTS_SINK' ? (s.autoPush ? 'after each job' : 'manual') : webKindOf(s.type).arrival?.nextRun ?? '—'
