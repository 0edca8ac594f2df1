import { vi } from 'vitest'

/**
 * Polls `check` until it answers a truthy value, and answers that value; a check that throws is
 * tried again. For helpers and hooks: in a test's own body, `expect.poll` says the same as an
 * assertion (it does not run in hooks, and answers no value). The timeout names what was awaited
 * and the last error.
 */
export async function until<T> (
  what: string, check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100,
): Promise<NonNullable<T>> {
  try {
    return await vi.waitFor(async () => {
      const value = await check()
      if (!value) throw new Error(`not yet: ${what}`)
      return value as NonNullable<T>
    }, { timeout: timeoutMs, interval: intervalMs })
  } catch (err) {
    throw new Error(`timed out waiting for ${what}: ${(err as Error).message}`)
  }
}
