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
export function startPeriodic (what: string, everyMs: number, task: () => Promise<unknown>, logger: Logger): Periodic {
  let running: Promise<void> | null = null
  const timer = setInterval(() => {
    if (running) return
    running = task()
      .then(() => {}, (err: unknown) => { logger.warn({ err }, `${what} failed`) })
      .finally(() => { running = null })
  }, everyMs)
  timer.unref()
  return {
    async stop () {
      clearInterval(timer)
      await running
    },
  }
}
