import { useEffect, useState } from 'preact/hooks'

// Hash routing: the server needs no route table, a reload keeps the view, and links are plain <a>.
//   #/                          agents list
//   #/agents/new                create an agent
//   #/agents/{id}[/{tab}]       agent page; tab = data-sources | uploads | jobs | secrets | pending | channels
//   #/agents/{id}/uploads/{uid} the uploads tab with one upload open (linked from a sync's manifest)
//   #/agents/{id}/sources/{sid} one source or sink: settings, history, operations
//   #/secrets                   the organisation's secrets
//   #/api-keys                  the organisation's API keys
//   #/audit-log                 who changed what (admin keys)

export const AGENT_TABS = ['data-sources', 'uploads', 'jobs', 'secrets', 'pending', 'channels'] as const
export type AgentTab = typeof AGENT_TABS[number]

export type Route =
  | { name: 'agents' }
  | { name: 'agent-new' }
  | { name: 'agent', id: string, tab: AgentTab, uploadId?: string }
  | { name: 'source', agentId: string, sourceId: string }
  | { name: 'secrets' }
  | { name: 'api-keys' }
  | { name: 'audit-log' }
  | { name: 'not-found', path: string }

export function parseHash (hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/\/+$/, '') || '/'
  const parts = path.split('/').filter(Boolean).map(p => { try { return decodeURIComponent(p) } catch { return p } })
  if (parts.length === 0) return { name: 'agents' }
  if (parts[0] === 'agents') {
    if (parts.length === 1) return { name: 'agents' }
    if (parts[1] === 'new' && parts.length === 2) return { name: 'agent-new' }
    if (parts[2] === 'sources' && parts.length === 4) return { name: 'source', agentId: parts[1]!, sourceId: parts[3]! }
    const tab = (parts[2] ?? 'data-sources') as AgentTab
    if (tab === 'uploads' && parts.length === 4) return { name: 'agent', id: parts[1]!, tab, uploadId: parts[3]! }
    if (parts.length <= 3 && AGENT_TABS.includes(tab)) return { name: 'agent', id: parts[1]!, tab }
  }
  if (parts[0] === 'secrets' && parts.length === 1) return { name: 'secrets' }
  if (parts[0] === 'api-keys' && parts.length === 1) return { name: 'api-keys' }
  if (parts[0] === 'audit-log' && parts.length === 1) return { name: 'audit-log' }
  return { name: 'not-found', path }
}

export const links = {
  agents: () => '#/',
  newAgent: () => '#/agents/new',
  agent: (id: string, tab: AgentTab = 'data-sources') => `#/agents/${encodeURIComponent(id)}${tab === 'data-sources' ? '' : `/${tab}`}`,
  upload: (agentId: string, uploadId: string) => `#/agents/${encodeURIComponent(agentId)}/uploads/${encodeURIComponent(uploadId)}`,
  source: (agentId: string, sourceId: string) => `#/agents/${encodeURIComponent(agentId)}/sources/${encodeURIComponent(sourceId)}`,
  secrets: () => '#/secrets',
  apiKeys: () => '#/api-keys',
  auditLog: () => '#/audit-log',
}

export function navigate (hash: string): void {
  if (location.hash === hash) return
  location.hash = hash
}

export function useRoute (): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash))
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash))
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return route
}
