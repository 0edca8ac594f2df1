import { isAppError } from '../errors.js'

export interface Check { name: string, ok: boolean, message: string, durationMs: number }
export interface TestResult { ok: boolean, checks: Check[] }

/** Runs named steps in order; the first failing step ends the test (later ones depend on it). */
export class Checklist {
  readonly checks: Check[] = []
  failed = false

  async step<T> (name: string, fn: () => Promise<{ message: string, value?: T }>): Promise<T | undefined> {
    if (this.failed) return undefined
    const start = Date.now()
    try {
      const { message, value } = await fn()
      this.checks.push({ name, ok: true, message, durationMs: Date.now() - start })
      return value
    } catch (err) {
      this.failed = true
      const message = isAppError(err) && err.failureType !== 'system' ? err.message : 'The check failed because of an internal error.'
      this.checks.push({ name, ok: false, message, durationMs: Date.now() - start })
      return undefined
    }
  }

  result (): TestResult { return { ok: !this.failed && this.checks.every(c => c.ok), checks: this.checks } }
}
