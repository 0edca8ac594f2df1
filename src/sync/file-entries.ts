import type { ManifestEntry } from '../db/sql/syncs.js'
import type { FileOutcome } from '../pipeline/ingest.js'

/**
 * The manifest entries of one received file (a pull's object, an inbound delivery): one entry for a
 * plain file, one per member for a zip archive, keyed `archive.zip!member.csv` (docs/formats.md).
 * A file refused whole carries its error `code` (NO_ROWS, NO_SKU_COLUMN, …) next to the reason; a
 * file that landed with warnings lists them (the UI shows it amber).
 */
export function manifestEntriesOf (
  file: Pick<ManifestEntry, 'key' | 'etag' | 'size' | 'lastModified'>,
  outcomes: FileOutcome[],
  extra: Record<string, unknown> = {}
): ManifestEntry[] {
  return outcomes.map(({ member, size, result, skipped }) => {
    const base = { ...file, ...extra, ...(member !== undefined ? { key: `${file.key}!${member}`, size: size ?? null } : {}) }
    if (result === undefined) return { ...base, format: null, status: 'skipped', rowsAccepted: 0, rowsRejected: 0, reason: skipped ?? 'not read' }
    const { upload, rejected, warnings } = result
    return {
      ...base,
      format: upload.format,
      status: upload.status === 'rejected' ? 'rejected' : 'ingested',
      rowsAccepted: upload.rowsAccepted,
      rowsRejected: upload.rowsRejected,
      uploadId: upload.id,
      ...(upload.error ? { code: upload.error.code, reason: `${upload.error.code}: ${upload.error.message}` } : {}),
      ...(rejected.length ? { errors: rejected.map(r => ({ row: r.row, message: r.reason })) } : {}),
      ...(warnings.length ? { warnings } : {}),
    }
  })
}

/** A file whose entries include a refusal makes its sync partial. */
export const isProblem = (entry: ManifestEntry): boolean => entry.status === 'rejected' || entry.status === 'failed'
