import type { Queryable } from '../client.js'
import { json } from './rows.js'

/** One result row: the values in the job's column order. */
export type ResultValues = unknown[]

export async function deleteResults (q: Queryable, jobId: string): Promise<void> {
  await q.query('DELETE FROM job_results WHERE job_id = $1', [jobId])
}

/** Writes one batch of result rows (numbered by the caller, 1…N). */
export async function insertResults (q: Queryable, jobId: string, rows: Array<{ n: number, data: ResultValues }>): Promise<void> {
  if (rows.length === 0) return
  await q.query(
    `INSERT INTO job_results (job_id, row_number, data)
     SELECT $1, r.n, r.data FROM jsonb_to_recordset($2::jsonb) AS r(n integer, data jsonb)`,
    [jobId, json(rows)])
}

/**
 * The result rows afterRow+1 … afterRow+limit, in order. Row numbers are dense (1…N), so the page is
 * a closed range: each page reads only its own rows whatever plan the database picks (an open
 * `row_number > $2 … LIMIT` over a freshly written, not yet analysed table makes PostgreSQL scan and
 * sort everything after $2 on every page).
 */
export async function readResults (q: Queryable, jobId: string, afterRow: number, limit: number): Promise<Array<{ n: number, data: ResultValues }>> {
  const { rows } = await q.query<{ row_number: number, data: ResultValues }>(
    'SELECT row_number, data FROM job_results WHERE job_id = $1 AND row_number > $2 AND row_number <= $2 + $3 ORDER BY row_number', [jobId, afterRow, limit])
  return rows.map(r => ({ n: r.row_number, data: r.data }))
}
