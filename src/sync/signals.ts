import type { Logger } from '../log.js'

export interface FinishedSync {
  /** the source pulled or the sink pushed to */
  sourceId: string
  syncId: string
  trigger: string
  status: string
  files: number
  rowsAccepted: number
  rowsRejected?: number
  durationMs: number | null
  error?: { code: string } | null
  [extra: string]: unknown
}

/**
 * The one log line per finished pull and push (docs/architecture.md "Signals"): info, or warn when it
 * failed, so an operator can follow syncs in the logs without per-source metrics.
 */
export function logFinished (logger: Logger, kind: 'pull' | 'push', sync: FinishedSync): void {
  const { error, ...fields } = sync
  const line = { ...fields, ...(error ? { code: error.code } : {}) }
  if (sync.status === 'failed') logger.warn(line, `${kind} failed`)
  else logger.info(line, `${kind} finished`)
}
