import type { Agent } from '../api/types'
import { seg } from '../api/client'
import { ErrorState, Loading } from '../components/states'
import { Pill } from '../components/badges'
import { describeCron } from '../lib/cron'
import { formatDateTime, formatRelative } from '../lib/format'
import { AGENT_TABS, links, type AgentTab } from '../lib/router'
import { useResource } from '../lib/resource'
import { DataSourcesTab } from './data-sources'
import { SecretsPanel } from './secrets'
import { PendingItemsTab } from './pending-items'
import { ChannelsTab } from './channels'
import { EditAgentDialog } from './agent-edit'
import { UploadsTab } from './uploads'
import { JobsTab } from './jobs'
import { useCan } from '../lib/me'
import { useState } from 'preact/hooks'

const TAB_LABELS: Record<AgentTab, string> = {
  'data-sources': 'Data sources',
  uploads: 'Uploads',
  jobs: 'Mapping jobs',
  secrets: 'Secrets',
  pending: 'Pending items',
  channels: 'Channels',
}

export function AgentPage ({ id, tab, uploadId }: { id: string, tab: AgentTab, uploadId?: string }) {
  const agent = useResource<Agent>(`/agents/${seg(id)}`)

  return (
    <section class="agent-page">
      <nav class="breadcrumb" aria-label="Breadcrumb"><a href={links.agents()}>Agents</a> <span aria-hidden="true">/</span></nav>
      {agent.loading && <Loading label="Loading agent…" />}
      {agent.error && !agent.data && (
        <>
          <ErrorState error={agent.error} what="This agent" onRetry={agent.reload} />
          {agent.error.status === 404 && <p><a href={links.agents()}>Back to the agents list</a></p>}
        </>
      )}
      {agent.data && (
        <>
          <AgentHeader agent={agent.data} onSaved={(a) => agent.setData(() => a)} />
          <nav class="tabs" aria-label="Agent sections">
            {AGENT_TABS.map(t => (
              <a key={t} href={links.agent(id, t)} class="tab" aria-current={t === tab ? 'page' : undefined}>{TAB_LABELS[t]}</a>
            ))}
          </nav>
          <div class="tab-panel">
            {tab === 'data-sources' && <DataSourcesTab agent={agent.data} />}
            {tab === 'uploads' && <UploadsTab agent={agent.data} openId={uploadId} />}
            {tab === 'jobs' && <JobsTab agent={agent.data} />}
            {tab === 'secrets' && <SecretsPanel />}
            {tab === 'pending' && <PendingItemsTab agent={agent.data} />}
            {tab === 'channels' && <ChannelsTab agent={agent.data} />}
          </div>
        </>
      )}
    </section>
  )
}

function AgentHeader ({ agent, onSaved }: { agent: Agent, onSaved: (a: Agent) => void }) {
  const canEdit = useCan('operator')
  const [editing, setEditing] = useState(false)
  return (
    <header class="agent-header">
      <div class="section-header">
        <h1>{agent.name}</h1>
        {canEdit && <button type="button" class="btn" onClick={() => setEditing(true)}>Edit agent</button>}
      </div>
      {editing && <EditAgentDialog agent={agent} onClose={() => setEditing(false)} onSaved={(a) => { setEditing(false); onSaved(a) }} />}
      <dl class="facts">
        <div>
          <dt>Schedule</dt>
          <dd>
            <span class="schedule-words">{describeCron(agent.scheduleCron, agent.timezone)}</span>
            {' '}<code class="muted cron-raw">{agent.scheduleCron}</code>
          </dd>
        </div>
        <div>
          <dt>Next run</dt>
          <dd>
            {agent.nextRunAt
              ? <>
                  <time dateTime={agent.nextRunAt}>{formatDateTime(agent.nextRunAt, agent.timezone)}</time>
                  {' '}<span class="muted">({formatRelative(agent.nextRunAt)})</span>
                </>
              : <span class="muted">none scheduled</span>}
          </dd>
        </div>
        <div>
          <dt>Rules</dt>
          <dd class="pills">
            <Pill tone={agent.rules?.autoPull ? 'ok' : 'muted'}>{agent.rules?.autoPull ? 'Auto-pull on' : 'Auto-pull off'}</Pill>
            <Pill tone={agent.rules?.autoMap ? 'ok' : 'muted'}>{agent.rules?.autoMap ? 'Auto-map on' : 'Auto-map off'}</Pill>
          </dd>
        </div>
      </dl>
    </header>
  )
}
