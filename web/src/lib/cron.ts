import cronstrue from 'cronstrue'

/**
 * Five-field cron patterns (minute hour day-of-month month day-of-week, as Ferry accepts them) in
 * words, by cronstrue, with the timezone the schedule runs in:
 *
 *   describeCron('0 * * * *', 'UTC')              → "Every hour, UTC"
 *   describeCron('30 6 * * 1-5', 'Europe/Berlin') → "At 06:30, Monday through Friday, Europe/Berlin"
 *
 * What cronstrue cannot read comes back as the raw pattern (plus the timezone), never as a wrong sentence.
 */
export function describeCron (pattern: string, timezone?: string): string {
  return cronInWords(pattern, timezone) ?? withZone(pattern.trim(), timezone)
}

/** The pattern in words, or null when only the raw pattern could be echoed (for "Reads as: …" hints). */
export function cronInWords (pattern: string, timezone?: string): string | null {
  const trimmed = pattern.trim()
  // the server takes five fields (src/domain/schedule.ts); cronstrue would also read six or seven
  if (!trimmed.startsWith('@') && trimmed.split(/\s+/).length !== 5) return null
  try {
    return withZone(cronstrue.toString(trimmed, { use24HourTimeFormat: true, throwExceptionOnParseError: true }), timezone)
  } catch {
    return null
  }
}

const withZone = (text: string, timezone?: string) => timezone ? `${text}, ${timezone}` : text
