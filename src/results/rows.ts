import type { Queryable } from '../db/client.js'
import { readResults } from '../db/sql/results.js'
import { renderResults, type ResultFormat } from './format.js'
import type { Readable } from 'node:stream'

/** Rows fetched per query while streaming results: memory holds one page. */
export const RESULT_PAGE = 2000

/** A job's result rows in order, read page by page (keyset on row_number). */
export async function * resultRows (q: Queryable, jobId: string, pageSize = RESULT_PAGE): AsyncGenerator<unknown[]> {
  let after = 0
  for (;;) {
    const page = await readResults(q, jobId, after, pageSize)
    for (const row of page) yield row.data
    if (page.length < pageSize) return
    after = page[page.length - 1].n
  }
}

/** A finished job's results as a byte stream in `format`, straight from the database. */
export const streamJobResults = (q: Queryable, job: { id: string, output: Array<{ column: string }> }, format: ResultFormat): Readable =>
  renderResults(format, job.output.map(c => c.column), resultRows(q, job.id))
