import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { links } from '../lib/router'
import type { Agent, ListResponse, ManifestAttempt, ManifestEntry, Sync } from '../api/types'
import { seg } from '../api/client'
import { StatusBadge } from '../components/badges'
import { Dialog } from '../components/dialog'
import { Empty, ErrorState, Loading } from '../components/states'
import { formatBytes, formatDateTime, formatDuration, formatNumber, formatRelative, shortId, syncDuration } from '../lib/format'
import { useResource, type Resource } from '../lib/resource'

export const TRIGGER_LABELS: Record<string, string> = {
  schedule: 'Schedule', manual: 'Manual', webhook: 'Webhook', job_complete: 'Job complete',
}

/** The last N syncs of one source, newest first; a row opens its manifest. */
export function SyncHistory ({ agent, syncs, items: shown, onOpen, limit, actions }: {
  agent: Agent
  syncs: Resource<ListResponse<Sync>>
  /** what to list, when it is not exactly the loaded page (a live sync merged in) */
  items?: Sync[]
  onOpen: (syncId: string) => void
  limit: number
  /** buttons for a row (cancel, retry now), on the source page */
  actions?: (sync: Sync) => ComponentChildren
}) {
  if (syncs.loading) return <Loading label="Loading sync history…" />
  if (syncs.error && !syncs.data) return <ErrorState error={syncs.error} what="Sync history" onRetry={syncs.reload} compact />
  const items = (shown ?? syncs.data?.items ?? []).slice(0, limit)
  if (items.length === 0) return <Empty title="No syncs yet." />
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={`Last ${limit} syncs`}>
      <table class="table table-syncs table-stack">
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
            {actions && <th scope="col"><span class="sr-only">Actions</span></th>}
          </tr>
        </thead>
        <tbody>
          {items.map(sync => (
            <tr key={sync.id} class="clickable" onClick={() => onOpen(sync.id)} data-sync-id={sync.id}>
              <td class="stack-title">
                <button type="button" class="link" onClick={(e) => { e.stopPropagation(); onOpen(sync.id) }}
                  aria-label={`Open sync of ${formatDateTime(sync.startedAt, agent.timezone)}`}>
                  {formatDateTime(sync.startedAt, agent.timezone)}
                </button>
              </td>
              <td data-label="Trigger">{TRIGGER_LABELS[sync.trigger] ?? sync.trigger}</td>
              <td data-label="Status"><StatusBadge status={sync.status} /></td>
              <td class="num" data-label="Files">{formatNumber(sync.filesCount)}</td>
              <td class="num" data-label="Rows ok / rejected">
                <span class="nowrap">
                  {formatNumber(sync.rowsAccepted)} / <span class={sync.rowsRejected ? 'text-warn' : ''}>{formatNumber(sync.rowsRejected)}</span>
                </span>
              </td>
              <td class="num" data-label="Bytes">{formatBytes(sync.bytes)}</td>
              <td class="num" data-label="Duration">{durationCell(sync, agent)}</td>
              {actions && <td class="row-actions stack-actions" onClick={(e) => e.stopPropagation()}>{actions(sync)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function durationCell (sync: Sync, agent: Agent): string {
  if (sync.status === 'retrying') {
    const next = sync.nextAttemptAt ? `, next ${formatDateTime(sync.nextAttemptAt, agent.timezone)}` : ''
    return `attempt ${sync.attempt ?? '?'} failed${next}`
  }
  if (sync.status === 'running') return 'running'
  return sync.durationMs != null ? formatDuration(sync.durationMs) : syncDuration(sync.startedAt, sync.finishedAt)
}

/** Manifest entries rendered at first; a sync of thousands of files shows the rest on request. */
const MANIFEST_PAGE = 200

/** One sync with its full manifest: per file key, size, status, rows, first errors; outbound attempts. */
export function ManifestDialog ({ agent, sourcePath, syncId, onClose }: { agent: Agent, sourcePath: string, syncId: string, onClose: () => void }) {
  const sync = useResource<Sync>(`${sourcePath}/syncs/${seg(syncId)}`)
  const [problemsOnly, setProblemsOnly] = useState(false)
  const [shown, setShown] = useState(MANIFEST_PAGE)
  const s = sync.data
  const manifest = s?.manifest ?? []
  const problems = manifest.filter(e => (e.status !== 'ingested' && e.status !== 'delivered') || e.rowsRejected > 0 || (e.warnings?.length ?? 0) > 0)
  const entries = problemsOnly ? problems : manifest
  const outbound = s?.direction === 'outbound'
  return (
    <Dialog title="Sync details" onClose={onClose} wide>
      {sync.loading && <Loading label="Loading the manifest…" />}
      {sync.error && !s && <ErrorState error={sync.error} what="This sync" onRetry={sync.reload} />}
      {s && (
        <>
          <dl class="facts facts-grid">
            <div><dt>Status</dt><dd><StatusBadge status={s.status} /></dd></div>
            <div><dt>Trigger</dt><dd>{TRIGGER_LABELS[s.trigger] ?? s.trigger} <span class="muted">({s.direction})</span></dd></div>
            <div><dt>Started</dt><dd>{formatDateTime(s.startedAt, agent.timezone)}</dd></div>
            <div>
              <dt>Duration</dt>
              <dd>{s.status === 'running' ? 'running' : s.durationMs != null ? formatDuration(s.durationMs) : syncDuration(s.startedAt, s.finishedAt)}</dd>
            </div>
            <div><dt>Files</dt><dd>{formatNumber(s.filesCount)}</dd></div>
            <div>
              <dt>Rows</dt>
              <dd>{outbound ? formatNumber(s.rowsAccepted) : <>{formatNumber(s.rowsAccepted)} accepted, {formatNumber(s.rowsRejected)} rejected</>}</dd>
            </div>
            <div><dt>Bytes</dt><dd>{formatBytes(s.bytes)}</dd></div>
          </dl>
          {s.error && (
            <p class="callout callout-bad" role="note">
              <strong>{s.status === 'partial' ? 'Listing stopped:' : 'Error:'}</strong> {s.error.message} <code class="muted small">{s.error.code}</code>
            </p>
          )}
          <div class="manifest-header">
            <h3>{outbound ? 'Delivery' : 'Files'}</h3>
            {!outbound && manifest.length > 0 && (
              <CheckboxToggle label={`Only files with problems (${formatNumber(problems.length)})`} checked={problemsOnly} onChange={setProblemsOnly} />
            )}
          </div>
          {manifest.length === 0
            ? <Empty title={s.status === 'running' ? 'No file finished yet.' : outbound ? 'Nothing was delivered.' : 'No files in this sync.'}>
                {!outbound && s.status !== 'running' && !s.error && <p>Nothing new under the prefix since the last pull.</p>}
              </Empty>
            : entries.length === 0
              ? <Empty title="Every file went through without a problem." />
              : (
                  <>
                    <ul class="manifest">
                      {entries.slice(0, shown).map((entry, i) => <ManifestItem key={`${entry.key}:${i}`} entry={entry} agent={agent} />)}
                    </ul>
                    {entries.length > shown && (
                      <button type="button" class="btn btn-small manifest-more" onClick={() => setShown(entries.length)}>
                        Show all {formatNumber(entries.length)} files
                      </button>
                    )}
                  </>
                )}
        </>
      )}
    </Dialog>
  )
}

function CheckboxToggle ({ label, checked, onChange }: { label: string, checked: boolean, onChange: (v: boolean) => void }) {
  return (
    <label class="toggle small">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} /> {label}
    </label>
  )
}

const ATTEMPT_OUTCOMES: Record<string, { status: string, label: string }> = {
  delivered: { status: 'succeeded', label: 'Delivered' },
  retrying: { status: 'partial', label: 'Will retry' },
  failed: { status: 'failed', label: 'Failed' },
  disabled: { status: 'failed', label: 'Sink disabled' },
  unknown: { status: 'skipped', label: 'Outcome unknown' },
}

const MAX_ERRORS_SHOWN = 100

function ManifestItem ({ entry, agent }: { entry: ManifestEntry, agent: Agent }) {
  const attempts = entry.attempts ?? []
  const outbound = attempts.length > 0 || entry.status === 'delivered' || entry.jobId !== undefined
  const retrying = entry.state === 'retrying' && entry.nextAttemptAt
  const warnings = entry.warnings ?? []
  const status = entry.status === 'ingested' && warnings.length > 0 ? 'ingested_warnings' : entry.status
  return (
    <li class="manifest-item" data-manifest-key={entry.key}>
      <div class="manifest-head">
        <code class="manifest-key">{entry.key}</code>
        {retrying ? <StatusBadge status="running" label="Retrying" /> : <StatusBadge status={status} />}
      </div>
      <p class="manifest-meta muted">
        {entry.size != null && <span>{formatBytes(entry.size)}</span>}
        {entry.format && <span>{entry.format.toUpperCase()}</span>}
        {outbound
          ? <span>{formatNumber(entry.rowsAccepted)} rows</span>
          : entry.status !== 'skipped' && (
            <>
              <span>{formatNumber(entry.rowsAccepted)} rows accepted</span>
              <span class={entry.rowsRejected ? 'text-warn' : ''}>{formatNumber(entry.rowsRejected)} rejected</span>
            </>
          )}
        {entry.jobId && <span>mapping job …{shortId(entry.jobId)}</span>}
        {entry.uploadId && <a href={links.upload(agent.id, entry.uploadId)}>Open the upload</a>}
        {entry.lastModified && <span>modified {formatDateTime(entry.lastModified, agent.timezone)}</span>}
        {attempts.length > 0 && <span>{attempts.length} attempt{attempts.length === 1 ? '' : 's'}</span>}
        {retrying && <span>next attempt {formatDateTime(entry.nextAttemptAt, agent.timezone)} ({formatRelative(entry.nextAttemptAt)})</span>}
      </p>
      {entry.reason && <p class="small manifest-reason">{entry.reason}</p>}
      {warnings.length > 0 && (
        <div class="manifest-warnings" role="note">
          <p class="small">{warnings.length === 1 ? 'Warning:' : 'Warnings:'}</p>
          <ul>{warnings.map((w, i) => <li key={i} data-warning={w.code}><code class="small">{w.code}</code> {w.message}</li>)}</ul>
        </div>
      )}
      {entry.errors && entry.errors.length > 0 && (
        <div class="manifest-errors">
          <p class="small">
            {entry.rowsRejected > entry.errors.length
              ? `The first ${formatNumber(entry.errors.length)} of ${formatNumber(entry.rowsRejected)} rejected rows:`
              : entry.errors.length === 1 ? 'Rejected row:' : 'Rejected rows:'}
          </p>
          <ul>
            {entry.errors.slice(0, MAX_ERRORS_SHOWN).map((e, i) => (
              <li key={i}>{e.row != null ? <strong>Row {e.row}:</strong> : null} {e.message}</li>
            ))}
          </ul>
        </div>
      )}
      {attempts.length > 0 && <Attempts attempts={attempts} agent={agent} />}
    </li>
  )
}

function Attempts ({ attempts, agent }: { attempts: ManifestAttempt[], agent: Agent }) {
  return (
    <div class="table-wrap attempts" tabIndex={0} role="region" aria-label="Delivery attempts">
      {/* stacked below 640 px like the sync history: four columns of dates and outcomes clipped at 390 px (issue #18) */}
      <table class="table table-compact table-stack">
        <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Result</th><th scope="col">Next attempt</th></tr></thead>
        <tbody>
          {attempts.map((a, i) => {
            const outcome = ATTEMPT_OUTCOMES[a.outcome] ?? { status: 'skipped', label: a.outcome }
            return (
              <tr key={i}>
                <td data-label="Attempt">{a.attempt ?? i + 1}</td>
                <td data-label="Time">{a.at ? formatDateTime(a.at, agent.timezone) : '—'}</td>
                <td class="wrap" data-label="Result">
                  <StatusBadge status={outcome.status} label={a.status != null ? `HTTP ${a.status} · ${outcome.label}` : outcome.label} />
                  {a.durationMs != null && <span class="muted"> {formatDuration(a.durationMs)}</span>}
                  {(a.contentType != null || a.contentLength != null) && (
                    <span class="muted"> · {[a.contentType, a.contentLength != null ? formatBytes(a.contentLength) : null].filter(Boolean).join(', ')}</span>
                  )}
                  {a.error && <div class="small">{a.error}</div>}
                </td>
                <td data-label="Next attempt">{a.nextAttemptAt ? formatDateTime(a.nextAttemptAt, agent.timezone) : '—'}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
