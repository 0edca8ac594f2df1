import { useMemo } from 'preact/hooks'
import { seg } from '../api/client'
import { sourcePath } from '../api/paths'
import type { Agent, DataSource, ListResponse, Secret } from '../api/types'
import { ErrorState, Loading } from '../components/states'
import { links, navigate } from '../lib/router'
import { useResource } from '../lib/resource'
import { SourceCard } from './data-sources'

/**
 * One source or sink on a page of its own (#/agents/{id}/sources/{sid}): its settings, Test,
 * Preview, Pull/Push, the whole history (paged, filtered) with Cancel and Retry now, and Reset.
 */
export function SourcePage ({ agentId, sourceId }: { agentId: string, sourceId: string }) {
  const agent = useResource<Agent>(`/agents/${seg(agentId)}`)
  const source = useResource<DataSource>(sourcePath(agentId, sourceId))
  const secrets = useResource<ListResponse<Secret>>('/secrets')
  const secretsById = useMemo(() => new Map((secrets.data?.items ?? []).map(s => [s.id, s])), [secrets.data])
  return (
    <section class="source-page">
      <nav class="breadcrumb" aria-label="Breadcrumb">
        <a href={links.agents()}>Agents</a> <span aria-hidden="true">/</span>{' '}
        <a href={links.agent(agentId)}>{agent.data?.name ?? 'Agent'}</a> <span aria-hidden="true">/</span>
      </nav>
      {(agent.loading || source.loading) && <Loading label="Loading the source…" />}
      {agent.error && !agent.data && <ErrorState error={agent.error} what="This agent" onRetry={agent.reload} />}
      {source.error && !source.data && <ErrorState error={source.error} what="This source" onRetry={source.reload} />}
      {agent.data && source.data && (
        <>
          <h1>{source.data.name}</h1>
          <SourceCard detail agent={agent.data} source={source.data} secretsById={secretsById}
            onChanged={(s) => source.setData(() => s)} onDeleted={() => navigate(links.agent(agentId))} />
        </>
      )}
    </section>
  )
}
