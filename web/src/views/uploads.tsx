import type { Agent, DataSource, ListResponse, Upload } from '../api/types'
import { seg } from '../api/client'
import { sourcesPath } from '../api/paths'
import { StatusBadge } from '../components/badges'
import { Dialog } from '../components/dialog'
import { Empty, ErrorState, Loading } from '../components/states'
import { formatBytes, formatDateTime, formatNumber } from '../lib/format'
import { useResource } from '../lib/resource'
import { links, navigate } from '../lib/router'

/**
 * The agent's uploads, newest first: every file that landed (or was refused whole), from a pull, a
 * webhook delivery or a manual upload, with rows landed and rejected. One opens with its rejected
 * rows and their reasons; a sync's manifest links here (`#/agents/{id}/uploads/{uid}`).
 */
export function UploadsTab ({ agent, openId }: { agent: Agent, openId?: string }) {
  const uploads = useResource<ListResponse<Upload>>(`/agents/${seg(agent.id)}/inventory/uploads?limit=50`)
  const sources = useResource<ListResponse<DataSource>>(sourcesPath(agent.id))
  const sourceName = (id: string | null) => id === null ? 'uploaded by hand' : sources.data?.items.find(s => s.id === id)?.name ?? 'a deleted source'
  const items = uploads.data?.items ?? []
  return (
    <section class="panel" aria-labelledby="uploads-title">
      <div class="section-header">
        <div>
          <h2 id="uploads-title">Uploads</h2>
          <p class="muted">Every file that landed, newest first (the last 50). Open one to see its rejected rows.</p>
        </div>
      </div>
      {uploads.loading && <Loading label="Loading uploads…" />}
      {uploads.error && !uploads.data && <ErrorState error={uploads.error} what="Uploads" onRetry={uploads.reload} />}
      {uploads.data && items.length === 0 && <Empty title="No uploads yet."><p>Pulls, webhook deliveries and manual uploads land here.</p></Empty>}
      {items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Uploads">
          <table class="table table-stack">
            <thead>
              <tr>
                <th scope="col">File</th><th scope="col">Source</th><th scope="col">Status</th>
                <th scope="col">Rows landed</th><th scope="col">Rejected</th><th scope="col">When</th>
              </tr>
            </thead>
            <tbody>
              {items.map(u => (
                <tr key={u.id} data-upload-id={u.id}>
                  <td class="stack-title wrap">
                    <a href={links.upload(agent.id, u.id)}>{u.fileName}</a>
                  </td>
                  <td data-label="Source">{sourceName(u.sourceId)}</td>
                  <td data-label="Status"><StatusBadge status={u.status} /></td>
                  <td data-label="Rows landed">{formatNumber(u.rowsAccepted)}</td>
                  <td data-label="Rejected" class={u.rowsRejected ? 'text-warn' : ''}>{formatNumber(u.rowsRejected)}</td>
                  <td data-label="When">{formatDateTime(u.createdAt, agent.timezone)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {openId && <UploadDialog agent={agent} uploadId={openId} sourceName={sourceName} onClose={() => navigate(links.agent(agent.id, 'uploads'))} />}
    </section>
  )
}

function UploadDialog ({ agent, uploadId, sourceName, onClose }: {
  agent: Agent, uploadId: string, sourceName: (id: string | null) => string, onClose: () => void
}) {
  const upload = useResource<Upload>(`/agents/${seg(agent.id)}/inventory/uploads/${seg(uploadId)}`)
  const u = upload.data
  const rejected = u?.rejectedRows ?? []
  return (
    <Dialog title={u ? u.fileName : 'Upload'} onClose={onClose} wide>
      {upload.loading && <Loading label="Loading the upload…" />}
      {upload.error && <ErrorState error={upload.error} what="This upload" onRetry={upload.reload} compact />}
      {u && (
        <div data-upload={u.id}>
          <dl class="facts">
            <div><dt>Status</dt><dd><StatusBadge status={u.status} /></dd></div>
            <div><dt>Rows landed</dt><dd data-rows-landed>{formatNumber(u.rowsAccepted)}</dd></div>
            <div><dt>Rejected</dt><dd data-rows-rejected>{formatNumber(u.rowsRejected)}</dd></div>
            <div><dt>Source</dt><dd>{sourceName(u.sourceId)}</dd></div>
            <div><dt>Format</dt><dd>{u.format?.toUpperCase() ?? '—'}{u.encoding ? ` · ${u.encoding}` : ''} · {formatBytes(u.bytes)}</dd></div>
            <div><dt>Landed</dt><dd>{formatDateTime(u.createdAt, agent.timezone)}</dd></div>
          </dl>
          {u.error && <p class="callout callout-bad"><strong>{u.error.code}:</strong> {u.error.message}</p>}
          {u.warnings.length > 0 && (
            <div class="manifest-warnings" role="note">
              <p class="small">{u.warnings.length === 1 ? 'Warning:' : 'Warnings:'}</p>
              <ul>{u.warnings.map((w, i) => <li key={i}>{w}</li>)}</ul>
            </div>
          )}
          {rejected.length > 0 && (
            <>
              <h3>{u.rowsRejected > rejected.length
                ? `The first ${formatNumber(rejected.length)} of ${formatNumber(u.rowsRejected)} rejected rows`
                : 'Rejected rows'}
              </h3>
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Rejected rows">
                <table class="table table-compact">
                  <thead><tr><th scope="col">Row</th><th scope="col">Reason</th></tr></thead>
                  <tbody>{rejected.map(r => <tr key={r.row}><td>{r.row}</td><td class="wrap">{r.reason}</td></tr>)}</tbody>
                </table>
              </div>
            </>
          )}
          {u.status === 'ingested' && rejected.length === 0 && <p class="muted">Every row landed.</p>}
          <p><a href={links.agent(agent.id, 'jobs')}>Mapping jobs of this agent</a></p>
        </div>
      )}
    </Dialog>
  )
}
