import { useState } from 'preact/hooks'
import type { Agent, ListResponse, MappingJob } from '../api/types'
import { ApiError, seg } from '../api/client'
import { StatusBadge } from '../components/badges'
import { Empty, ErrorState, FormError, Loading } from '../components/states'
import { formatDateTime, formatNumber, shortId } from '../lib/format'
import { getApiKey } from '../lib/session'
import { useResource } from '../lib/resource'
import { links } from '../lib/router'

const FORMATS = ['csv', 'json', 'ndjson', 'xlsx'] as const

/**
 * The agent's mapping jobs, newest first: the file each maps and its source, status, rows and
 * columns, and its results to download in each format (`GET …/jobs/{jobId}/results?format=`).
 */
export function JobsTab ({ agent }: { agent: Agent }) {
  const path = `/agents/${seg(agent.id)}/jobs`
  const jobs = useResource<ListResponse<MappingJob>>(`${path}?limit=50`)
  const [error, setError] = useState<string | null>(null)
  const items = jobs.data?.items ?? []

  // the results need the API key, which a plain link cannot carry: fetched, then saved from a blob URL
  const download = async (job: MappingJob, format: typeof FORMATS[number]) => {
    setError(null)
    const res = await fetch(`/api/v1${path}/${seg(job.id)}/results?format=${format}`, {
      headers: { authorization: `Bearer ${getApiKey() ?? ''}` }, credentials: 'omit', cache: 'no-store',
    })
    if (!res.ok) {
      const body = await res.json().catch(() => ({}))
      setError(new ApiError(res.status, body).message)
      return
    }
    const url = URL.createObjectURL(await res.blob())
    const a = document.createElement('a')
    a.href = url
    a.download = `${(job.upload?.fileName ?? `job-${shortId(job.id)}`).replace(/\.[^.]+$/, '')}-results.${format}`
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }

  return (
    <section class="panel" aria-labelledby="jobs-title">
      <div class="section-header">
        <div>
          <h2 id="jobs-title">Mapping jobs</h2>
          <p class="muted">Each job maps one upload through the agent's mapping; its results are what a push sends (the last 50).</p>
        </div>
      </div>
      <FormError error={error} />
      {jobs.loading && <Loading label="Loading mapping jobs…" />}
      {jobs.error && !jobs.data && <ErrorState error={jobs.error} what="Mapping jobs" onRetry={jobs.reload} />}
      {jobs.data && items.length === 0 && (
        <Empty title="No mapping jobs yet."><p>A job runs after each upload when the agent's rules have auto-map on.</p></Empty>
      )}
      {items.length > 0 && (
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Mapping jobs">
          <table class="table table-stack">
            <thead>
              <tr>
                <th scope="col">File</th><th scope="col">Source</th><th scope="col">Status</th><th scope="col">Rows</th>
                <th scope="col">When</th><th scope="col">Results</th>
              </tr>
            </thead>
            <tbody>
              {items.map(j => (
                <tr key={j.id} data-job-id={j.id}>
                  <td class="stack-title wrap">
                    <a href={links.upload(agent.id, j.uploadId)}>{j.upload?.fileName ?? `upload …${shortId(j.uploadId)}`}</a>
                  </td>
                  <td data-label="Source">{j.upload?.sourceName ?? (j.upload?.sourceId ? 'a deleted source' : 'uploaded by hand')}</td>
                  <td data-label="Status">
                    <StatusBadge status={j.status} />
                    {j.error && <span class="small field-error"> {j.error.message}</span>}
                  </td>
                  <td data-label="Rows">{j.status === 'succeeded' ? `${formatNumber(j.rows)} · ${j.columns.length} columns` : '—'}</td>
                  <td data-label="When">{formatDateTime(j.finishedAt ?? j.createdAt, agent.timezone)}</td>
                  <td data-label="Results" class="stack-actions">
                    {j.status === 'succeeded' && FORMATS.map(f => (
                      <button key={f} type="button" class="btn btn-small" onClick={() => { void download(j, f) }}
                        aria-label={`Download ${f.toUpperCase()} results of ${j.upload?.fileName ?? j.id}`}>
                        {f.toUpperCase()}
                      </button>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
