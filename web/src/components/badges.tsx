import type { SyncStatus } from '../api/types'

const SYNC_LABELS: Record<string, string> = {
  running: 'Running', retrying: 'Retrying', succeeded: 'Succeeded', partial: 'Partial', failed: 'Failed', cancelled: 'Cancelled',
  ingested: 'Ingested', ingested_warnings: 'Ingested with warnings', rejected: 'Rejected', skipped: 'Skipped', delivered: 'Delivered',
  open: 'Open', resolved: 'Resolved', queued: 'Queued',
}

const TONES: Record<string, string> = {
  running: 'info', queued: 'info', retrying: 'warn', cancelled: 'muted',
  succeeded: 'ok', ingested: 'ok', delivered: 'ok', resolved: 'ok',
  // a file that landed with warnings is never plain green (docs/formats.md)
  partial: 'warn', skipped: 'muted', rejected: 'warn', ingested_warnings: 'warn',
  failed: 'bad', open: 'bad',
}

/** A status pill: colour plus a word (never colour alone). */
export function StatusBadge ({ status, label }: { status: SyncStatus | string, label?: string }) {
  return <span class={`badge badge-${TONES[status] ?? 'muted'}`} data-status={status}>{label ?? SYNC_LABELS[status] ?? status}</span>
}

export function Pill ({ children, tone = 'muted' }: { children: string, tone?: 'muted' | 'info' | 'ok' | 'warn' | 'bad' }) {
  return <span class={`badge badge-${tone}`}>{children}</span>
}
