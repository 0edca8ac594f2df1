import type { Deps } from '../deps.js'
import { reportFailure, reportRecovery } from '../pending-items/pending-items.js'
import { getAgent } from '../db/sql/agents.js'
import type { DataSource } from '../domain/source.js'

/**
 * DATA_SOURCE_PUSH_FAILED through the shared pending-item machinery (src/pending-items/pending-items.ts).
 * The rule set has no push-specific section: the channels are those of `onPullFailure.notify`
 * (the agent's one notification choice), and push failures are always filed (docs/push.md).
 */
export async function reportPushFailure (deps: Deps, sink: DataSource, message: string): Promise<void> {
  const agent = await getAgent(deps.db, sink.orgId, sink.agentId)
  if (!agent) return
  await reportFailure(deps, {
    orgId: sink.orgId,
    agentId: sink.agentId,
    sourceId: sink.id,
    type: 'DATA_SOURCE_PUSH_FAILED',
    message,
    notify: agent.rules.onPullFailure.notify,
  })
}

/** A delivered push resolves the sink's open item (`auto`), if there is one. */
export async function reportPushRecovery (deps: Deps, sink: DataSource): Promise<void> {
  await reportRecovery(deps, { sourceId: sink.id, type: 'DATA_SOURCE_PUSH_FAILED' })
}
