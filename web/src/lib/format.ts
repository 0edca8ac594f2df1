// Numbers, sizes, times and durations as people read them.

const numberFormat = new Intl.NumberFormat('en')

export const formatNumber = (n: number | null | undefined) => n == null ? '—' : numberFormat.format(n)

export function formatBytes (n: number | null | undefined): string {
  if (n == null) return '—'
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = n / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}

export function formatDuration (ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return '—'
  if (ms < 1000) return `${Math.round(ms)} ms`
  const s = ms / 1000
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`
  const m = Math.floor(s / 60)
  const rest = Math.round(s % 60)
  if (m < 60) return rest ? `${m} min ${rest} s` : `${m} min`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export const syncDuration = (startedAt: string, finishedAt: string | null) =>
  finishedAt ? formatDuration(Date.parse(finishedAt) - Date.parse(startedAt)) : '—'

/** "29 Nov 2025, 14:00" in the given zone (default: the browser's). */
export function formatDateTime (iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return '—'
  try {
    return new Intl.DateTimeFormat('en-GB', {
      day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone,
    }).format(date)
  } catch {
    return date.toISOString()
  }
}

/** "in 23 min", "5 h ago", "just now" */
export function formatRelative (iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return ''
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return ''
  const diff = t - now
  const abs = Math.abs(diff)
  if (abs < 45_000) return diff >= 0 ? 'in under a minute' : 'just now'
  let text: string
  if (abs < 3_600_000) text = `${Math.round(abs / 60_000)} min`
  else if (abs < 86_400_000) text = `${Math.round(abs / 3_600_000)} h`
  else text = `${Math.round(abs / 86_400_000)} d`
  return diff >= 0 ? `in ${text}` : `${text} ago`
}

export const shortId = (id: string) => id.length > 8 ? id.slice(-8) : id
