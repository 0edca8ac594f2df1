import { createElement, type ComponentChildren } from 'preact'
import { useEffect, useMemo, useState } from 'preact/hooks'
import { LocationProvider } from 'preact-iso'

// Hash routing: the server needs no route table, a reload keeps the view, and links are plain <a>.
// preact-iso's <Router> matches the routes (web/src/app.tsx); HashLocation feeds it the path after
// the `#` instead of the URL's own path (docs/decisions-ui.md, "Routing").
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

export const isAgentTab = (tab: string | undefined): tab is AgentTab => (AGENT_TABS as readonly string[]).includes(tab ?? '')

/** The route patterns (preact-iso syntax) of the links below. */
export const PATHS = {
  agents: '/',
  newAgent: '/agents/new',
  source: '/agents/:id/sources/:sid',
  upload: '/agents/:id/uploads/:uid',
  agent: '/agents/:id/:tab?',
  secrets: '/secrets',
  apiKeys: '/api-keys',
  auditLog: '/audit-log',
} as const

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

/** The path a hash stands for: `#/agents/x/` → `/agents/x`, `` → `/`. */
export const hashPath = (hash: string): string => hash.replace(/^#/, '').replace(/\/+$/, '') || '/'

/** preact-iso's location, read from and written to the URL's hash (hashchange, not history.pushState). */
export function HashLocation ({ children }: { children?: ComponentChildren }) {
  const [path, setPath] = useState(() => hashPath(location.hash))
  useEffect(() => {
    const onChange = () => setPath(hashPath(location.hash))
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  const value = useMemo(() => ({
    url: path,
    path,
    query: {},
    route: (url: string, replace?: boolean) => {
      if (replace) location.replace(`#${url}`)
      else navigate(`#${url}`)
    },
    back: () => history.back(),
    forward: () => history.forward(),
  }), [path])
  return createElement(LocationProvider.ctx.Provider, { value }, children)
}
