import { useState } from 'preact/hooks'
import { api, ApiError } from '../api/client'
import type { AuditEntry, ListResponse } from '../api/types'
import { Empty, ErrorState, Loading } from '../components/states'
import { formatDateTime } from '../lib/format'
import { useResource } from '../lib/resource'

const PAGE = 50

/** A changed value as text: objects (config, redacted secret values) as compact JSON. */
const show = (v: unknown): string => v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v)

/** Who changed what, newest first, a page at a time (admin keys). */
export function AuditLogPage () {
  const log = useResource<ListResponse<AuditEntry>>(`/audit-log?limit=${PAGE}`)
  const [more, setMore] = useState<{ busy: boolean, error?: ApiError }>({ busy: false })

  const loadMore = async () => {
    const cursor = log.data?.nextCursor
    if (!cursor) return
    setMore({ busy: true })
    try {
      const next = await api.get<ListResponse<AuditEntry>>(`/audit-log?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}`)
      log.setData(cur => ({ items: [...(cur?.items ?? []), ...next.items], nextCursor: next.nextCursor }))
      setMore({ busy: false })
    } catch (err) {
      setMore({ busy: false, error: err as ApiError })
    }
  }

  return (
    <section class="panel" aria-labelledby="audit-title">
      <div class="page-header">
        <div>
          <h1 id="audit-title">Audit log</h1>
          <p class="muted">Every change made with this organisation's API keys. Secret values never appear, only their redacted form.</p>
        </div>
      </div>
      {log.loading && <Loading label="Loading the audit log…" />}
      {log.error && <ErrorState error={log.error} what="The audit log" onRetry={log.reload} />}
      {log.data && log.data.items.length === 0 && <Empty title="Nothing has been changed yet." />}
      {log.data && log.data.items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Audit log">
          <table class="table table-stack audit-log">
            <thead>
              <tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Changes</th></tr>
            </thead>
            <tbody>
              {log.data.items.map(e => (
                <tr key={e.id}>
                  <td class="stack-title"><time dateTime={e.at}>{formatDateTime(e.at)}</time></td>
                  <td data-label="Who">{e.actor.name} <span class="muted">({e.actor.role})</span></td>
                  <td data-label="Action">{e.action}</td>
                  <td data-label="Resource">{e.resourceType} <code class="muted">{e.resourceId}</code></td>
                  <td data-label="Changes" class="wrap">
                    {e.changes
                      ? <dl class="changes">{Object.entries(e.changes).map(([field, c]) => (
                          <div key={field}><dt>{field}</dt> <dd><code>{show(c.before)}</code> → <code>{show(c.after)}</code></dd></div>
                        ))}
                        </dl>
                      : <span class="muted">—</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {log.data?.nextCursor && (
        <div class="list-more">
          <button type="button" class="btn" onClick={loadMore} disabled={more.busy}>{more.busy ? 'Loading…' : 'Show older entries'}</button>
          {more.error && <ErrorState error={more.error} compact />}
        </div>
      )}
    </section>
  )
}
