/**
 * Five-field cron patterns (minute hour day-of-month month day-of-week, as Ferry accepts them)
 * in words, for people:
 *
 *   describeCron('0 * * * *', 'UTC')              → "every hour at :00, UTC"
 *   describeCron('30 6 * * *', 'Europe/Berlin')   → "every day at 06:30, Europe/Berlin"
 *   describeCron('30 6 * * 1-5')                  → "weekdays at 06:30"
 *   describeCron('*\/15 * * * *', 'UTC')          → "every 15 minutes"
 *
 * Patterns that only repeat within the hour ("every 15 minutes") read the same in any timezone
 * and carry none; everything else ends with the timezone when one is given. What this does not
 * know how to say comes back as the raw pattern (plus the timezone), never as a wrong sentence.
 */
export function describeCron (pattern: string, timezone?: string): string {
  const trimmed = pattern.trim()
  const withZone = (text: string) => timezone ? `${text}, ${timezone}` : text
  const fallback = withZone(trimmed)

  const nickname = NICKNAMES[trimmed.toLowerCase()]
  if (nickname) return describeCron(nickname, timezone)

  const fields = trimmed.split(/\s+/)
  if (fields.length !== 5) return fallback
  const [minF, hourF, domF, monF, dowF] = fields as [string, string, string, string, string]

  const minute = parseField(minF, 0, 59)
  const hour = parseField(hourF, 0, 23)
  const dom = parseField(domF, 1, 31)
  const month = parseField(monF, 1, 12, MONTH_NAMES)
  const dow = parseField(dowF, 0, 7, DAY_NAMES)
  if (!minute || !hour || !dom || !month || !dow) return fallback

  const days = describeDays(dom, month, dow)
  if (!days) return fallback

  // Repeats within every hour: "every minute", "every 15 minutes", "every hour at :05 and :35"
  if (hour.kind === 'any') {
    let text: string
    let zoneMatters = true
    if (minute.kind === 'any') { text = 'every minute'; zoneMatters = false } else if (minute.kind === 'step' && minute.start === 0 && 60 % minute.step === 0) {
      text = minute.step === 1 ? 'every minute' : `every ${minute.step} minutes`
      zoneMatters = false
    } else if (minute.kind === 'list') text = `every hour at ${joinWords(minute.values.map(m => `:${pad(m)}`))}`
    else return fallback
    if (days.suffix) { text += ` ${days.suffix}`; zoneMatters = true }
    return zoneMatters ? withZone(text) : text
  }

  if (minute.kind !== 'list') {
    // "every 15 minutes from 09:00 to 17:59"
    if (minute.kind === 'step' && minute.start === 0 && 60 % minute.step === 0 && hour.kind === 'range') {
      const text = `every ${minute.step === 1 ? 'minute' : `${minute.step} minutes`} from ${pad(hour.from)}:00 to ${pad(hour.to)}:59`
      return withZone(days.suffix ? `${text} ${days.suffix}` : text)
    }
    return fallback
  }

  // Every N hours: "every 6 hours at :00"
  if (hour.kind === 'step') {
    if (hour.start !== 0 || 24 % hour.step !== 0) return fallback
    const text = `every ${hour.step === 1 ? 'hour' : `${hour.step} hours`} at ${joinWords(minute.values.map(m => `:${pad(m)}`))}`
    return withZone(days.suffix ? `${text} ${days.suffix}` : text)
  }

  // An hour range: "every hour from 09:00 to 17:00"
  if (hour.kind === 'range') {
    if (minute.values.length !== 1) return fallback
    const m = pad(minute.values[0]!)
    const text = `every hour from ${pad(hour.from)}:${m} to ${pad(hour.to)}:${m}`
    return withZone(days.suffix ? `${text} ${days.suffix}` : text)
  }

  // Times of day: "every day at 06:30", "weekdays at 06:30 and 18:30"
  const times: string[] = []
  for (const h of hour.values) for (const m of minute.values) times.push(`${pad(h)}:${pad(m)}`)
  if (times.length > 6) return fallback
  return withZone(`${days.prefix} at ${joinWords(times)}`)
}

type Field =
  | { kind: 'any' }
  | { kind: 'step', start: number, step: number }
  | { kind: 'range', from: number, to: number }
  | { kind: 'list', values: number[] }

const NICKNAMES: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
}

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const MONTH_NAMES = ['', 'jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const DAY_WORDS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTH_WORDS = ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

/** One cron field → any / step / one range / list of values; null for what this module won't describe. */
function parseField (text: string, min: number, max: number, names?: string[]): Field | null {
  if (text === '*' || text === '?') return { kind: 'any' }
  const value = (s: string): number | null => {
    const lower = s.toLowerCase()
    const named = names ? names.indexOf(lower) : -1
    if (named > 0 || (named === 0 && names![0] !== '')) return named
    if (!/^\d+$/.test(s)) return null
    const n = Number(s)
    return n >= min && n <= max ? n : null
  }
  const step = /^(\*|\d+)\/(\d+)$/.exec(text)
  if (step) {
    const start = step[1] === '*' ? min : value(step[1]!)
    const n = Number(step[2])
    if (start === null || !(n > 0)) return null
    return { kind: 'step', start: start - min, step: n }
  }
  const range = /^([a-z0-9]+)-([a-z0-9]+)$/i.exec(text)
  if (range) {
    const from = value(range[1]!)
    const to = value(range[2]!)
    if (from === null || to === null || from > to) return null
    return { kind: 'range', from, to }
  }
  const parts = text.split(',')
  const values: number[] = []
  for (const part of parts) {
    const r = /^([a-z0-9]+)-([a-z0-9]+)$/i.exec(part)
    if (r) {
      const from = value(r[1]!)
      const to = value(r[2]!)
      if (from === null || to === null || from > to || to - from > 31) return null
      for (let v = from; v <= to; v++) values.push(v)
      continue
    }
    const v = value(part)
    if (v === null) return null
    values.push(v)
  }
  return { kind: 'list', values: [...new Set(values)].sort((a, b) => a - b) }
}

const asDays = (f: Field): number[] | null => {
  if (f.kind === 'any') return null
  if (f.kind === 'list') return f.values
  if (f.kind === 'range') return Array.from({ length: f.to - f.from + 1 }, (_, i) => f.from + i)
  return null
}

/** The day part, as a sentence start ("every day") and as a suffix ("on weekdays"); null = can't say. */
function describeDays (dom: Field, month: Field, dow: Field): { prefix: string, suffix: string } | null {
  const anyDom = dom.kind === 'any'
  const anyMonth = month.kind === 'any'
  const anyDow = dow.kind === 'any'
  if (anyDom && anyMonth && anyDow) return { prefix: 'every day', suffix: '' }

  if (anyDom && anyMonth) {
    const raw = asDays(dow)
    if (!raw) return null
    const days = [...new Set(raw.map(d => d % 7))].sort((a, b) => a - b)
    const key = days.join(',')
    if (key === '1,2,3,4,5') return { prefix: 'weekdays', suffix: 'on weekdays' }
    if (key === '0,6') return { prefix: 'weekends', suffix: 'on weekends' }
    if (key === '0,1,2,3,4,5,6') return { prefix: 'every day', suffix: '' }
    if (days.length === 1) return { prefix: `every ${DAY_WORDS[days[0]!]}`, suffix: `on ${DAY_WORDS[days[0]!]}s` }
    // Monday first, the way calendars in most of the world read
    const ordered = [...days.filter(d => d !== 0), ...days.filter(d => d === 0)]
    const words = joinWords(ordered.map(d => DAY_WORDS[d]!))
    return { prefix: `every ${words}`, suffix: `on ${words}` }
  }

  if (anyDow && dom.kind === 'list' && dom.values.length <= 4) {
    const dayList = joinWords(dom.values.map(String))
    const plural = dom.values.length > 1 ? 's' : ''
    if (anyMonth) return { prefix: `on day${plural} ${dayList} of every month`, suffix: `on day${plural} ${dayList} of every month` }
    if (month.kind === 'list' && month.values.length <= 3) {
      const months = joinWords(month.values.map(m => MONTH_WORDS[m]!))
      const text = dom.values.length === 1 ? `on ${dayList} ${months}` : `on day${plural} ${dayList} of ${months}`
      return { prefix: text, suffix: text }
    }
  }
  return null
}

const pad = (n: number) => String(n).padStart(2, '0')

function joinWords (words: string[]): string {
  if (words.length <= 1) return words.join('')
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`
}

/** The words for a pattern, or null when describeCron could only echo it back. */
export function cronInWords (pattern: string, timezone?: string): string | null {
  const words = describeCron(pattern, timezone)
  const raw = pattern.trim()
  return words === raw || words === `${raw}, ${timezone}` ? null : words
}
