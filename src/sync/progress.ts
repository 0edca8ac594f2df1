/** How often a running pull writes its progress (and its counters) to the sync row. */
export const PROGRESS_INTERVAL_MS = 300

/**
 * Writes a running sync's progress at most once per `intervalMs`, in the background. A pull of
 * thousands of small files used to commit the sync row after every file: one more commit per file,
 * and one more writer on a row every file waits for. Watchers (`ferry pull --wait`, the UI) poll
 * every few hundred milliseconds, so writing more often than that shows nobody anything.
 *
 * `update()` never waits and never throws: the first call writes at once (a watcher sees the pull
 * start), later ones at the end of the interval with the state of that moment. At most one write
 * is in flight, so writes land in order. `flush()` writes the final state and waits for it.
 */
export class ProgressWriter {
  #lastWriteAt = -Infinity
  #timer: NodeJS.Timeout | undefined
  #inFlight: Promise<void> | undefined
  #dirty = false
  #stopped = false

  constructor (
    private readonly write: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  update (): void {
    if (this.#stopped) return
    this.#dirty = true
    if (this.#timer || this.#inFlight) return
    const wait = this.#lastWriteAt + this.intervalMs - Date.now()
    if (wait <= 0) this.#writeNow()
    else this.#schedule(wait)
  }

  /** Writes the current state (whether or not it changed since the last write) and waits for it. */
  async flush (): Promise<void> {
    this.stop()
    await this.#inFlight
    this.#stopped = false
    this.#dirty = true
    this.#writeNow()
    await this.#inFlight
    this.#stopped = true
  }

  /** No more writes; one in flight still lands. */
  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (this.#dirty && !this.#stopped) this.#writeNow()
    }, ms)
    this.#timer.unref()
  }

  #writeNow (): void {
    this.#dirty = false
    this.#lastWriteAt = Date.now()
    this.#inFlight = this.write()
      .catch(this.onError)
      .finally(() => {
        this.#inFlight = undefined
        // changes that arrived during the write go out one interval after it started
        if (this.#dirty && !this.#stopped && !this.#timer) this.#schedule(Math.max(0, this.#lastWriteAt + this.intervalMs - Date.now()))
      })
  }
}
