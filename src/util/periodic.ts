import type { Logger } from '../log.js'

export interface Periodic {
  /** stops the timer and waits for a run in progress */
  stop(): Promise<void>
}

/**
 * Runs `task` every `everyMs` in the background: never two runs at once, and a run that throws is
 * logged (as `what` failed) and tried again next time — a background loop never crashes the process.
 * The timer does not keep the process alive.
 */
export function startPeriodic (what: string, everyMs: number, task: () => Promise<unknown>, logger: Logger,
  options: { immediately?: boolean } = {}): Periodic {
  let running: Promise<void> | null = null
  const tick = () => {
    if (running) return
    running = task()
      .then(() => {}, (err: unknown) => { logger.warn({ err }, `${what} failed`) })
      .finally(() => { running = null })
  }
  const timer = setInterval(tick, everyMs)
  timer.unref()
  // a first run now (e.g. what a process that died left behind is cleaned up at start)
  if (options.immediately) tick()
  return {
    async stop () {
      clearInterval(timer)
      await running
    },
  }
}
