import { describe, expect, it } from 'vitest'
import { links, parseHash } from '../../../web/src/lib/router.js'

describe('hash routes (web UI)', () => {
  it('a source has a page of its own, and its link leads back to it', () => {
    const agent = '0190f3a1-0000-7000-8000-000000000001'
    const source = '0190f3a1-0000-7000-8000-000000000002'
    expect(links.source(agent, source)).toBe(`#/agents/${agent}/sources/${source}`)
    expect(parseHash(links.source(agent, source))).toEqual({ name: 'source', agentId: agent, sourceId: source })
    // the agent's tabs are unchanged; a path past the source is no page
    expect(parseHash(`#/agents/${agent}/pending`)).toEqual({ name: 'agent', id: agent, tab: 'pending' })
    expect(parseHash(`#/agents/${agent}/sources`)).toMatchObject({ name: 'not-found' })
    expect(parseHash(`#/agents/${agent}/sources/${source}/more`)).toMatchObject({ name: 'not-found' })
  })
})
