import type { Agent, ListResponse, ManifestAttempt, ManifestEntry, Sync } from '../api/types'
import { seg } from '../api/client'
import { StatusBadge } from '../components/badges'
import { Dialog } from '../components/dialog'
import { Empty, ErrorState, Loading } from '../components/states'
import { formatBytes, formatDateTime, formatDuration, formatNumber, formatRelative, syncDuration } from '../lib/format'
import { useResource, type Resource } from '../lib/resource'

export const TRIGGER_LABELS: Record<string, string> = {
  schedule: 'Schedule', manual: 'Manual', webhook: 'Webhook', job_complete: 'Job complete',
}

export const syncErrorText = (error: Sync['error']) =>
  !error ? null : typeof error === 'string' ? error : error.message

/** The last N syncs of one source, newest first; a row opens its manifest. */
export function SyncHistory ({ agent, syncs, onOpen, limit }: {
  agent: Agent, syncs: Resource<ListResponse<Sync>>, onOpen: (syncId: string) => void, limit: number
}) {
  if (syncs.loading) return <Loading label="Loading sync history…" />
  if (syncs.error && !syncs.data) return <ErrorState error={syncs.error} what="Sync history" onRetry={syncs.reload} compact />
  const items = syncs.data?.items ?? []
  if (items.length === 0) return <Empty title="No syncs yet." />
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={`Last ${limit} syncs`}>
      <table class="table table-syncs">
        <caption class="sr-only">Last {limit} syncs, newest first. Times in {agent.timezone}.</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Trigger</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">Files</th>
            <th scope="col" class="num">Rows ok / rejected</th>
            <th scope="col" class="num">Bytes</th>
            <th scope="col" class="num">Duration</th>
          </tr>
        </thead>
        <tbody>
          {items.map(sync => (
            <tr key={sync.id} class="clickable" onClick={() => onOpen(sync.id)} data-sync-id={sync.id}>
              <td>
                <button type="button" class="link" onClick={(e) => { e.stopPropagation(); onOpen(sync.id) }}
                  aria-label={`Open sync of ${formatDateTime(sync.startedAt, agent.timezone)}`}>
                  {formatDateTime(sync.startedAt, agent.timezone)}
                </button>
              </td>
              <td data-label="Trigger">{TRIGGER_LABELS[sync.trigger] ?? sync.trigger}</td>
              <td data-label="Status"><StatusBadge status={sync.status} /></td>
              <td class="num" data-label="Files">{formatNumber(sync.filesCount)}</td>
              <td class="num" data-label="Rows ok / rejected"><span class="nowrap">{formatNumber(sync.rowsAccepted)} / <span class={sync.rowsRejected ? 'text-warn' : ''}>{formatNumber(sync.rowsRejected)}</span></span></td>
              <td class="num" data-label="Bytes">{formatBytes(sync.bytes)}</td>
              <td class="num" data-label="Duration">{sync.status === 'running' ? 'running' : sync.durationMs != null ? formatDuration(sync.durationMs) : syncDuration(sync.startedAt, sync.finishedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** One sync with its full manifest: per file key, size, status, rows, first errors; outbound attempts. */
export function ManifestDialog ({ agent, sourcePath, syncId, onClose }: { agent: Agent, sourcePath: string, syncId: string, onClose: () => void }) {
  const sync = useResource<Sync>(`${sourcePath}/syncs/${seg(syncId)}`)
  const s = sync.data
  return (
    <Dialog title="Sync details" onClose={onClose} wide>
      {sync.loading && <Loading label="Loading the manifest…" />}
      {sync.error && <ErrorState error={sync.error} what="This sync" onRetry={sync.reload} />}
      {s && (
        <>
          <dl class="facts facts-grid">
            <div><dt>Status</dt><dd><StatusBadge status={s.status} /></dd></div>
            <div><dt>Trigger</dt><dd>{TRIGGER_LABELS[s.trigger] ?? s.trigger} <span class="muted">({s.direction})</span></dd></div>
            <div><dt>Started</dt><dd>{formatDateTime(s.startedAt, agent.timezone)}</dd></div>
            <div><dt>Duration</dt><dd>{syncDuration(s.startedAt, s.finishedAt)}</dd></div>
            <div><dt>Files</dt><dd>{formatNumber(s.filesCount)}</dd></div>
            <div><dt>Rows</dt><dd>{formatNumber(s.rowsAccepted)} accepted, {formatNumber(s.rowsRejected)} rejected</dd></div>
            <div><dt>Bytes</dt><dd>{formatBytes(s.bytes)}</dd></div>
          </dl>
          {syncErrorText(s.error) && <p class="callout callout-bad" role="note"><strong>Error:</strong> {syncErrorText(s.error)}</p>}
          <h3>Files</h3>
          {(s.manifest ?? []).length === 0
            ? <Empty title="No files in this sync." />
            : <ul class="manifest">{(s.manifest ?? []).map((entry, i) => <ManifestItem key={`${entry.key}:${i}`} entry={entry} agent={agent} />)}</ul>}
        </>
      )}
    </Dialog>
  )
}

function ManifestItem ({ entry, agent }: { entry: ManifestEntry, agent: Agent }) {
  const size = entry.size ?? entry.bytes
  const attempts = Array.isArray(entry.attempts) ? entry.attempts : null
  return (
    <li class="manifest-item">
      <div class="manifest-head">
        <code class="manifest-key">{entry.key}</code>
        <StatusBadge status={entry.status} />
      </div>
      <p class="manifest-meta muted">
        {size != null && <span>{formatBytes(size)}</span>}
        {entry.format && <span>{entry.format.toUpperCase()}</span>}
        {entry.rowsAccepted != null && <span>{formatNumber(entry.rowsAccepted)} rows accepted</span>}
        {entry.rowsRejected != null && <span class={entry.rowsRejected ? 'text-warn' : ''}>{formatNumber(entry.rowsRejected)} rejected</span>}
        {typeof entry.attempts === 'number' && <span>{entry.attempts} attempt{entry.attempts === 1 ? '' : 's'}</span>}
        {entry.nextAttemptAt && <span>next attempt {formatDateTime(entry.nextAttemptAt, agent.timezone)} ({formatRelative(entry.nextAttemptAt)})</span>}
      </p>
      {entry.reason && <p class="small">{entry.reason}</p>}
      {entry.errors && entry.errors.length > 0 && (
        <div class="manifest-errors">
          <p class="small">First errors{entry.errors.length >= 100 ? ' (first 100)' : ''}:</p>
          <ul>
            {entry.errors.slice(0, 100).map((e, i) => (
              <li key={i}>{e.row != null ? <strong>Row {e.row}:</strong> : null} {e.message}</li>
            ))}
          </ul>
        </div>
      )}
      {attempts && attempts.length > 0 && <Attempts attempts={attempts} agent={agent} />}
    </li>
  )
}

function Attempts ({ attempts, agent }: { attempts: ManifestAttempt[], agent: Agent }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Delivery attempts">
      <table class="table table-compact">
        <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Result</th><th scope="col">Next attempt</th></tr></thead>
        <tbody>
          {attempts.map((a, i) => {
            const code = a.statusCode ?? a.httpStatus ?? (typeof a.status === 'number' ? a.status : undefined)
            const ok = a.ok ?? (code !== undefined ? code >= 200 && code < 300 : a.status === 'delivered' || a.status === 'succeeded')
            return (
              <tr key={i}>
                <td>{a.attempt ?? i + 1}</td>
                <td>{formatDateTime(a.at ?? a.startedAt, agent.timezone)}</td>
                <td>
                  <StatusBadge status={ok ? 'succeeded' : 'failed'} label={code !== undefined ? `HTTP ${code}` : String(a.status ?? (ok ? 'ok' : 'failed'))} />
                  {(a.error ?? a.message) && <span class="muted"> {a.error ?? a.message}</span>}
                </td>
                <td>{a.nextAttemptAt ? formatDateTime(a.nextAttemptAt, agent.timezone) : '—'}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
