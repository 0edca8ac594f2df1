/**
 * Polls `fn` every 100 ms until it returns something truthy, and resolves with that; after
 * `timeoutMs` it fails, naming `what`. For state reached through the queue or a worker process,
 * which no event announces to the test.
 */
export async function until<T> (what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await fn()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
