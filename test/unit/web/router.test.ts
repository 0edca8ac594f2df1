import { describe, expect, it } from 'vitest'
import { exec } from 'preact-iso/router'
import { PATHS, hashPath, links } from '../../../web/src/lib/router.js'

// the first pattern that matches a hash, in the order of web/src/app.tsx's <Router>
const ORDER = [PATHS.agents, '/agents', PATHS.newAgent, PATHS.source, PATHS.upload, PATHS.agent, PATHS.secrets, PATHS.apiKeys, PATHS.auditLog]
const match = (hash: string) => {
  for (const pattern of ORDER) {
    const m = exec(hashPath(hash), pattern)
    if (m) return { pattern, params: m.params }
  }
  return null
}

describe('hash routes (web UI)', () => {
  const agent = '0190f3a1-0000-7000-8000-000000000001'
  const source = '0190f3a1-0000-7000-8000-000000000002'

  it('a source has a page of its own, and its link leads back to it', () => {
    expect(links.source(agent, source)).toBe(`#/agents/${agent}/sources/${source}`)
    expect(match(links.source(agent, source))).toEqual({ pattern: PATHS.source, params: { id: agent, sid: source } })
    // a path past the source is no page
    expect(match(`#/agents/${agent}/sources/${source}/more`)).toBeNull()
  })

  it('keeps every hash URL the UI has given out', () => {
    expect(match('')).toMatchObject({ pattern: PATHS.agents })
    expect(match(links.agents())).toMatchObject({ pattern: PATHS.agents })
    expect(match(links.newAgent())).toMatchObject({ pattern: PATHS.newAgent })
    expect(match(links.agent(agent))).toEqual({ pattern: PATHS.agent, params: { id: agent, tab: undefined } })
    expect(match(`${links.agent(agent, 'pending')}/`)).toEqual({ pattern: PATHS.agent, params: { id: agent, tab: 'pending' } })
    expect(match(links.upload(agent, source))).toEqual({ pattern: PATHS.upload, params: { id: agent, uid: source } })
    expect(match(links.secrets())).toMatchObject({ pattern: PATHS.secrets })
    expect(match(links.apiKeys())).toMatchObject({ pattern: PATHS.apiKeys })
    expect(match(links.auditLog())).toMatchObject({ pattern: PATHS.auditLog })
    // the agent route takes any third segment; the page refuses what is no tab (AgentRoute, web/src/app.tsx)
    expect(match(`#/agents/${agent}/sources`)).toEqual({ pattern: PATHS.agent, params: { id: agent, tab: 'sources' } })
  })
})
