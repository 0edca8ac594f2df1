/**
 * Text formatting for the CLI. Everything shown comes from the server, and some of it from
 * customers (S3 keys, file errors): it goes through `clean` so no control sequence reaches the
 * terminal (an S3 key may legally contain ESC).
 */

// C0 and C1 control characters, DEL, and the bidi overrides that can reorder what a terminal shows
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/** One line of untrusted text, safe to print: control characters become "?", length is capped. */
export function clean (text: unknown, max = 300): string {
  const s = String(text ?? '').replace(UNSAFE, '?')
  return s.length > max ? `${s.slice(0, max - 1)}…` : s
}

export function formatBytes (bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`
}

export function formatDuration (ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—'
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  const s = ms / 1000
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export const formatCount = (n: number): string => new Intl.NumberFormat('en-US').format(n)

/** "2024-05-01 12:00:03Z": UTC, so output from different machines compares as is. */
export function formatTime (iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return '—'
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`
}

/** A plain text table: a header row, then one line per row; numeric columns right-aligned. */
export function table (headers: string[], rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]) => cells
    .map((c, i) => rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))
    .join('  ')
    .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n') + '\n'
}
