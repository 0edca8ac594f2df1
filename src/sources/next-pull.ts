import { effectiveCron, type DataSource } from '../domain/source.js'
import { nextRunAfter } from '../domain/schedule.js'
import { isPulled } from '../kinds/registry.js'

/**
 * When the scheduler should next pull this source; null when it is never pulled on a schedule
 * (sinks, kinds Ferry does not pull such as inbound webhooks, disabled sources, agents without autoPull).
 */
export function computeNextPullAt (
  source: Pick<DataSource, 'role' | 'type' | 'enabled' | 'scheduleCron'>,
  agent: { scheduleCron: string, timezone: string, rules: { autoPull: boolean } },
  after: Date
): Date | null {
  if (!isPulled(source) || !source.enabled || !agent.rules.autoPull) return null
  return nextRunAfter(effectiveCron(source, agent), agent.timezone, after)
}
