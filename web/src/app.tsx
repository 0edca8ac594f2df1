import { useEffect, useRef, useState } from 'preact/hooks'
import { setUnauthorizedHandler } from './api/client'
import { clearApiKey, getApiKey, setApiKey } from './lib/session'
import { Route, Router, useLocation } from 'preact-iso'
import { HashLocation, PATHS, isAgentTab, links, navigate } from './lib/router'
import { SignIn } from './views/sign-in'
import { AgentsList } from './views/agents-list'
import { AgentCreate } from './views/agent-create'
import { AgentPage } from './views/agent-page'
import { SourcePage } from './views/source-page'
import { SecretsPanel } from './views/secrets'
import { ApiKeysPage } from './views/api-keys'
import { AuditLogPage } from './views/audit-log'
import { MeContext } from './lib/me'
import { useResource } from './lib/resource'
import type { Me } from './api/types'
import { Empty } from './components/states'
import { Logo } from './components/icons'

export function App () {
  const [signedIn, setSignedIn] = useState(() => getApiKey() !== null)
  const [notice, setNotice] = useState<string | null>(null)

  useEffect(() => {
    setUnauthorizedHandler(() => {
      clearApiKey()
      setSignedIn(false)
      setNotice('Your API key is no longer accepted (it may have been revoked). Sign in with a valid key.')
    })
    return () => setUnauthorizedHandler(null)
  }, [])

  if (!signedIn) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(key) => { setApiKey(key); setNotice(null); setSignedIn(true) }}
      />
    )
  }

  const signOut = () => {
    clearApiKey()
    setNotice('You are signed out.')
    setSignedIn(false)
    navigate(links.agents())
  }
  return <HashLocation><Shell onSignOut={signOut} /></HashLocation>
}

function Shell ({ onSignOut }: { onSignOut: () => void }) {
  const { path } = useLocation()
  const main = useRef<HTMLElement>(null)
  const [, root, id, sub, sid] = path.split('/')
  const section = root === 'secrets' || root === 'api-keys' || root === 'audit-log' ? root : 'agents'
  // the key's role decides which actions the views offer (the server enforces it regardless)
  const me = useResource<Me>('/me')
  const isAdmin = me.data?.apiKey.role === 'admin'

  // A new page moves focus to the main region, so keyboard and screen-reader users start there.
  const first = useRef(true)
  // (an agent's tabs are one page: switching them keeps the focus where it is)
  const routeKey = root === 'agents' && id && id !== 'new' ? (sub === 'sources' ? `source:${sid}` : `agent:${id}`) : path
  useEffect(() => {
    if (first.current) { first.current = false; return }
    main.current?.focus({ preventScroll: true })
    scrollTo(0, 0)
  }, [routeKey])

  return (
    <MeContext.Provider value={me.data ?? null}>
      <div class="layout">
        <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus() }}>Skip to content</a>
        <header class="topbar">
          <a class="brand" href={links.agents()}>
            <Logo /> Ferry
          </a>
          <nav class="topnav" aria-label="Main">
            <a href={links.agents()} aria-current={section === 'agents' ? 'page' : undefined}>Agents</a>
            <a href={links.secrets()} aria-current={section === 'secrets' ? 'page' : undefined}>Secrets</a>
            <a href={links.apiKeys()} aria-current={section === 'api-keys' ? 'page' : undefined}>API keys</a>
            {isAdmin && <a href={links.auditLog()} aria-current={section === 'audit-log' ? 'page' : undefined}>Audit log</a>}
          </nav>
          {me.data && <span class="whoami muted" data-role={me.data.apiKey.role}>{me.data.apiKey.name} · {me.data.apiKey.role}</span>}
          <button type="button" class="btn btn-ghost signout" onClick={onSignOut}>Sign out</button>
        </header>
        <main id="main" ref={main} tabIndex={-1} class="content">
          <Pages />
        </main>
      </div>
    </MeContext.Provider>
  )
}

function Pages () {
  return (
    <Router>
      <Route path={PATHS.agents} component={AgentsList} />
      <Route path="/agents" component={AgentsList} />
      <Route path={PATHS.newAgent} component={AgentCreate} />
      <Route path={PATHS.source} component={SourceRoute} />
      <Route path={PATHS.upload} component={AgentRoute} />
      <Route path={PATHS.agent} component={AgentRoute} />
      <Route path={PATHS.secrets} component={SecretsPage} />
      <Route path={PATHS.apiKeys} component={ApiKeysPage} />
      <Route path={PATHS.auditLog} component={AuditLogPage} />
      <Route default component={NotFound} />
    </Router>
  )
}

function AgentRoute ({ id, tab, uid }: { id: string, tab?: string, uid?: string }) {
  // #/agents/{id}/uploads/{uid} is the uploads tab with one upload open
  const shown = uid ? 'uploads' : (tab ?? 'data-sources')
  if (!isAgentTab(shown)) return <NotFound />
  return <AgentPage key={id} id={id} tab={shown} uploadId={uid} />
}

const SourceRoute = ({ id, sid }: { id: string, sid: string }) => <SourcePage key={sid} agentId={id} sourceId={sid} />

const SecretsPage = () => <SecretsPanel asPage />

function NotFound () {
  return (
    <Empty title="There is no page here.">
      <a href={links.agents()}>Go to the agents list</a>
    </Empty>
  )
}
