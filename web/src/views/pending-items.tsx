import { useMemo, useState } from 'preact/hooks'
import { api, ApiError, seg } from '../api/client'
import { sourcesPath } from '../api/paths'
import type { Agent, DataSource, ListResponse, PendingItem } from '../api/types'
import { StatusBadge } from '../components/badges'
import { Empty, ErrorState, Loading } from '../components/states'
import { formatDateTime, formatNumber, formatRelative } from '../lib/format'
import { useResource } from '../lib/resource'
import { links } from '../lib/router'
import { useCan } from '../lib/me'

const TYPE_LABELS: Record<string, string> = {
  DATA_SOURCE_PULL_FAILED: 'Pull failed',
  DATA_SOURCE_PUSH_FAILED: 'Push failed',
}

type Filter = 'open' | 'all'

/** Pending items of an agent: open ones first, each with a Resolve button. */
export function PendingItemsTab ({ agent }: { agent: Agent }) {
  const [filter, setFilter] = useState<Filter>('open')
  const items = useResource<ListResponse<PendingItem>>(`/agents/${seg(agent.id)}/pending-items${filter === 'open' ? '?status=open' : ''}`)
  const sources = useResource<ListResponse<DataSource>>(sourcesPath(agent.id))
  const sourceNames = useMemo(() => new Map((sources.data?.items ?? []).map(s => [s.id, s.name])), [sources.data])
  const [resolving, setResolving] = useState<string | null>(null)
  const canResolve = useCan('operator')
  const [error, setError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)

  const sorted = useMemo(() => [...(items.data?.items ?? [])].sort((a, b) =>
    (a.status === b.status ? 0 : a.status === 'open' ? -1 : 1) || Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt)), [items.data])

  const resolve = async (item: PendingItem) => {
    setResolving(item.id)
    setError(null)
    setNotice(null)
    try {
      const updated = await api.post<PendingItem>(`/agents/${seg(agent.id)}/pending-items/${seg(item.id)}/resolve`)
      items.setData(cur => cur && {
        ...cur,
        items: filter === 'open' ? cur.items.filter(i => i.id !== item.id) : cur.items.map(i => i.id === item.id ? updated : i),
      })
      setNotice(`Resolved “${TYPE_LABELS[item.type] ?? item.type}” of ${sourceNames.get(item.sourceId) ?? 'the data source'}. ` +
        'If it fails again, a new item opens.')
    } catch (err) {
      setError(err instanceof ApiError && err.routeMissing ? 'Resolving is not available on this server yet (404).' : (err as Error).message)
    } finally {
      setResolving(null)
    }
  }

  const filingOff = agent.rules?.onPullFailure?.pendingItem === false ? ' (filing is switched off in this agent\'s rules)' : ''
  return (
    <section class="panel" aria-labelledby="pending-title">
      <div class="section-header">
        <div>
          <h2 id="pending-title">Pending items</h2>
          <p class="muted">Failed automatic pulls and pushes. The next successful sync of the source resolves them by itself.</p>
        </div>
        <div class="segmented" role="group" aria-label="Show">
          <button type="button" aria-pressed={filter === 'open'} onClick={() => setFilter('open')}>Open</button>
          <button type="button" aria-pressed={filter === 'all'} onClick={() => setFilter('all')}>All</button>
        </div>
      </div>
      {error && <p class="form-error" role="alert">{error}</p>}
      {notice && <p class="callout callout-ok" role="status">{notice}</p>}
      {items.loading && <Loading label="Loading pending items…" />}
      {items.error && !items.data && <ErrorState error={items.error} what="Pending items" onRetry={items.reload} />}
      {items.data && sorted.length === 0 && (
        <Empty title={filter === 'open' ? 'Nothing pending.' : 'No pending items yet.'}>
          <p>When an automatic pull or push fails, it shows up here{filingOff}.</p>
        </Empty>
      )}
      {sorted.length > 0 && (
        <ul class="pending-list">
          {sorted.map(item => (
            <li key={item.id} class={`card pending-item${item.status === 'open' ? ' is-open' : ''}`} data-pending-id={item.id}>
              <div class="pending-head">
                <StatusBadge status={item.status} />
                <strong>{TYPE_LABELS[item.type] ?? item.type}</strong>
                <a href={links.agent(agent.id)} class="pending-source">
                  {sourceNames.get(item.sourceId) ?? (sources.data ? 'a deleted data source' : 'data source')}
                </a>
              </div>
              <p class="pending-message">{item.message}</p>
              <p class="muted small">
                {formatNumber(item.occurrences)} occurrence{item.occurrences === 1 ? '' : 's'} ·
                first {formatDateTime(item.firstSeenAt, agent.timezone)} · last {formatRelative(item.lastSeenAt)}
                {item.status === 'resolved' &&
                  <> · resolved {item.resolution === 'auto' ? 'automatically' : 'by hand'}{item.resolvedAt ? ` ${formatRelative(item.resolvedAt)}` : ''}</>}
              </p>
              {canResolve && item.status === 'open' && (
                <button type="button" class="btn btn-small" disabled={resolving === item.id} onClick={() => resolve(item)}
                  aria-label={`Resolve: ${TYPE_LABELS[item.type] ?? item.type}, ${sourceNames.get(item.sourceId) ?? 'data source'}`}>
                  {resolving === item.id ? 'Resolving…' : 'Resolve'}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
