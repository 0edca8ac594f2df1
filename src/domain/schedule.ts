import { Cron } from 'croner'
import { AppError } from '../errors.js'

/**
 * Cron and timezone rules shared by agents and sources. Patterns have five fields (minute
 * granularity): the scheduler ticks once a minute, so a seconds field would promise what it can't keep.
 */
export function validateTimezone (timezone: string): string {
  try {
    // Throws RangeError for anything that is not an IANA zone name (or an alias of one).
    new Intl.DateTimeFormat('en-US', { timeZone: timezone }) // eslint-disable-line no-new
    return timezone
  } catch {
    throw new AppError('INVALID_TIMEZONE', `"${timezone}" is not an IANA timezone such as "UTC" or "Europe/Berlin".`, { details: { field: 'timezone' } })
  }
}

export function validateCron (pattern: string, timezone = 'UTC'): string {
  const trimmed = pattern.trim()
  if (!trimmed.startsWith('@') && trimmed.split(/\s+/).length !== 5) {
    throw new AppError('INVALID_CRON', `"${pattern}" must have five fields: minute hour day-of-month month day-of-week.`, {
      details: { field: 'scheduleCron' }
    })
  }
  let next: Date | null
  try {
    next = new Cron(trimmed, { paused: true, timezone }).nextRun()
  } catch (err) {
    const reason = (err as Error).message.replace(/^CronPattern: /, '')
    throw new AppError('INVALID_CRON', `"${pattern}" is not a valid cron expression: ${reason}.`, { details: { field: 'scheduleCron' } })
  }
  if (next === null) throw new AppError('INVALID_CRON', `"${pattern}" never runs.`, { details: { field: 'scheduleCron' } })
  return trimmed
}

/** The first run strictly after `after`, in the given timezone (croner follows DST rules). */
export function nextRunAfter (pattern: string, timezone: string, after: Date): Date | null {
  return new Cron(pattern, { paused: true, timezone }).nextRun(after)
}
