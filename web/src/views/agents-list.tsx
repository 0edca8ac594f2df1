import { useState } from 'preact/hooks'
import { api, ApiError } from '../api/client'
import type { Agent, AgentHealth, ListResponse } from '../api/types'
import { StatusBadge } from '../components/badges'
import { Empty, ErrorState, Loading } from '../components/states'
import { describeCron } from '../lib/cron'
import { formatDateTime, formatRelative } from '../lib/format'
import { links } from '../lib/router'
import { useResource } from '../lib/resource'
import { useCan } from '../lib/me'

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`

/** One line per agent: its worst latest sync, when it last synced, its sources and open pending items (docs/decisions.md). */
function HealthSummary ({ health, timezone }: { health: AgentHealth, timezone: string }) {
  return (
    <span class="agent-health" data-testid="agent-health">
      {health.lastSyncStatus ? <StatusBadge status={health.lastSyncStatus} /> : <span class="muted">No syncs yet</span>}
      {health.lastSyncAt && (
        <time class="muted" dateTime={health.lastSyncAt} title={formatDateTime(health.lastSyncAt, timezone)}>{formatRelative(health.lastSyncAt)}</time>
      )}
      <span class="muted">{plural(health.sources, 'source')}</span>
      {health.openPendingItems > 0 && <StatusBadge status="open" label={plural(health.openPendingItems, 'open pending item')} />}
    </span>
  )
}

export function AgentsList () {
  const agents = useResource<ListResponse<Agent>>('/agents?limit=50')
  const [more, setMore] = useState<{ busy: boolean, error?: ApiError }>({ busy: false })
  const canEdit = useCan('operator')

  const loadMore = async () => {
    const cursor = agents.data?.nextCursor
    if (!cursor) return
    setMore({ busy: true })
    try {
      const next = await api.get<ListResponse<Agent>>(`/agents?limit=50&cursor=${encodeURIComponent(cursor)}`)
      agents.setData(cur => ({ items: [...(cur?.items ?? []), ...next.items], nextCursor: next.nextCursor }))
      setMore({ busy: false })
    } catch (err) {
      setMore({ busy: false, error: err as ApiError })
    }
  }

  return (
    <section aria-labelledby="agents-title">
      <div class="page-header">
        <h1 id="agents-title">Agents</h1>
        {canEdit && <a class="btn btn-primary" href={links.newAgent()}>New agent</a>}
      </div>
      {agents.loading && <Loading label="Loading agents…" />}
      {agents.error && <ErrorState error={agents.error} what="The agents list" onRetry={agents.reload} />}
      {agents.data && agents.data.items.length === 0 && (
        <Empty title="No agents yet.">
          <p>An agent pulls inventory files from its data sources and pushes mapping results to its sinks.</p>
          {canEdit && <a class="btn btn-primary" href={links.newAgent()}>Create your first agent</a>}
        </Empty>
      )}
      {agents.data && agents.data.items.length > 0 && (
        <ul class="agent-list" aria-label="Agents">
          {agents.data.items.map(agent => (
            <li key={agent.id} class="card agent-row">
              <a class="agent-name" href={links.agent(agent.id)}>{agent.name}</a>
              <span class="agent-schedule">{describeCron(agent.scheduleCron, agent.timezone)}</span>
              <span class="agent-next muted">
                {agent.nextRunAt
                  ? <>Next run{' '}
                      <time dateTime={agent.nextRunAt} title={formatDateTime(agent.nextRunAt, agent.timezone)}>{formatRelative(agent.nextRunAt)}</time>
                    </>
                  : 'No upcoming run'}
              </span>
              {agent.health && <HealthSummary health={agent.health} timezone={agent.timezone} />}
            </li>
          ))}
        </ul>
      )}
      {agents.data?.nextCursor && (
        <div class="list-more">
          <button type="button" class="btn" onClick={loadMore} disabled={more.busy}>{more.busy ? 'Loading…' : 'Show more agents'}</button>
          {more.error && <ErrorState error={more.error} compact />}
        </div>
      )}
    </section>
  )
}
