import { normalisePrefix } from '../domain/source.js'
import type { ResultFormat } from '../results/format.js'

/** `{prefix}/job-{jobId}.{format}` with exactly one slash between prefix and name (none without a prefix): how a file-store sink names a job's results. */
export function resultKey (prefix: string | undefined, jobId: string, format: ResultFormat): string {
  const p = normalisePrefix(prefix).replace(/\/+$/, '')
  return `${p ? `${p}/` : ''}job-${jobId}.${format}`
}
