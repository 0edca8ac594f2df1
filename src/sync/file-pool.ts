/**
 * The files of one pull in flight, bounded two ways: at most `maxFiles` at once, and at most
 * `maxBytes` of their listed sizes at once. Small files therefore run `maxFiles` wide, big ones
 * fewer at a time; a file bigger than `maxBytes` runs alone (it is never refused here: the size
 * limit is FERRY_MAX_FILE_BYTES's). Files start in the order they are offered: a big file waits
 * for room rather than letting the small ones behind it overtake it, so none waits forever.
 * The first error of a task is thrown by the next run() and by drain().
 */
export class FilePool {
  readonly #running = new Set<Promise<void>>()
  #bytes = 0
  #error: unknown
  constructor (private readonly limits: { maxFiles: number, maxBytes: number }) {}

  /** Waits for room for a file of `bytes`, then starts `task` (not awaited: drain() does). */
  async run (bytes: number, task: () => Promise<void>): Promise<void> {
    while (this.#running.size > 0 && !this.#fits(bytes)) {
      if (this.#error) throw this.#error
      await Promise.race(this.#running)
    }
    if (this.#error) throw this.#error
    this.#bytes += bytes
    const p: Promise<void> = task()
      .catch((err) => { this.#error ??= err })
      .finally(() => {
        this.#running.delete(p)
        this.#bytes -= bytes
      })
    this.#running.add(p)
  }

  async drain (): Promise<void> {
    await Promise.all(this.#running)
    if (this.#error) throw this.#error
  }

  #fits (bytes: number): boolean {
    return this.#running.size < this.limits.maxFiles && this.#bytes + bytes <= this.limits.maxBytes
  }
}
