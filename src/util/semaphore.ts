/**
 * A counting semaphore with a FIFO queue: at most `limit` holders at once, the rest wait in the
 * order they asked. `acquire` resolves to the release function (idempotent: releasing twice frees
 * one slot only).
 */
export class Semaphore {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor (readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, not ${limit}`)
  }

  async acquire (): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++
    } else {
      // the releaser hands its slot straight to the next waiter, so `active` stays counted
      await new Promise<void>(resolve => this.waiting.push(resolve))
    }
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next !== undefined) next()
      else this.active--
    }
  }

  /** holders right now (tests, metrics) */
  get inUse (): number {
    return this.active
  }
}
