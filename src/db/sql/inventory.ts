import { once } from 'node:events'
import type { Writable } from 'node:stream'
import type { Queryable, Transaction } from '../client.js'
import type { CanonicalItem } from '../../pipeline/canonical.js'
import { isoRequired, json } from './rows.js'

export interface InventoryUpload {
  id: string
  /** internal compact key of the upload's items (not shown in the API) */
  seq: number
  agentId: string
  sourceId: string | null
  syncId: string | null
  fileName: string
  format: string | null
  encoding: string | null
  bytes: number
  rowsAccepted: number
  rowsRejected: number
  status: 'ingested' | 'rejected'
  error: { code: string, message: string } | null
  warnings: string[]
  createdAt: string
}

const toUpload = (r: Record<string, unknown>): InventoryUpload => ({
  id: r.id as string,
  seq: r.seq as number,
  agentId: r.agent_id as string,
  sourceId: (r.source_id as string | null) ?? null,
  syncId: (r.sync_id as string | null) ?? null,
  fileName: r.file_name as string,
  format: (r.format as string | null) ?? null,
  encoding: (r.encoding as string | null) ?? null,
  bytes: r.bytes as number,
  rowsAccepted: r.rows_accepted as number,
  rowsRejected: r.rows_rejected as number,
  status: r.status as InventoryUpload['status'],
  error: (r.error as InventoryUpload['error']) ?? null,
  warnings: (r.warnings as string[]) ?? [],
  createdAt: isoRequired(r.created_at),
})

export interface UploadFields {
  id: string
  orgId: string
  agentId: string
  sourceId?: string | null
  syncId?: string | null
  fileName: string
  format?: string | null
  encoding?: string | null
  bytes: number
  rowsAccepted: number
  rowsRejected: number
  status: InventoryUpload['status']
  error?: InventoryUpload['error']
  warnings: string[]
  /** inserted unpublished, staging for this many seconds (src/pipeline/ingest.ts); published when absent */
  stagedSeconds?: number
}

export async function insertUpload (q: Queryable, u: UploadFields): Promise<InventoryUpload> {
  const { rows } = await q.query(
    `INSERT INTO inventory_uploads (id, org_id, agent_id, source_id, sync_id, file_name, format, encoding, bytes,
       rows_accepted, rows_rejected, status, error, warnings, staged_until)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14::jsonb, now() + make_interval(secs => $15::double precision))
     RETURNING *`,
    [u.id, u.orgId, u.agentId, u.sourceId ?? null, u.syncId ?? null, u.fileName, u.format ?? null, u.encoding ?? null, u.bytes,
      u.rowsAccepted, u.rowsRejected, u.status, u.error ? json(u.error) : null, json(u.warnings), u.stagedSeconds ?? null])
  return toUpload(rows[0])
}

/*
 * Readers see published uploads only (staged_until IS NULL): a staged upload and its items are
 * invisible until the final transaction of its file publishes them (migration 017).
 */
export async function getUpload (q: Queryable, orgId: string, agentId: string, id: string): Promise<InventoryUpload | null> {
  const { rows } = await q.query(
    'SELECT * FROM inventory_uploads WHERE org_id = $1 AND agent_id = $2 AND id = $3 AND staged_until IS NULL', [orgId, agentId, id])
  return rows[0] ? toUpload(rows[0]) : null
}

export async function listUploads (q: Queryable, orgId: string, agentId: string, page: { limit: number, before?: string }): Promise<InventoryUpload[]> {
  const { rows } = await q.query(
    `SELECT * FROM inventory_uploads WHERE org_id = $1 AND agent_id = $2 AND ($3::uuid IS NULL OR id < $3::uuid) AND staged_until IS NULL
     ORDER BY id DESC LIMIT $4`, [orgId, agentId, page.before ?? null, page.limit])
  return rows.map(toUpload)
}

export interface StoredItem extends Omit<CanonicalItem, 'row'> { rowNumber: number }

export async function listItems (q: Queryable, upload: Pick<InventoryUpload, 'seq'>, page: { limit: number, afterRow?: number }): Promise<StoredItem[]> {
  const { rows } = await q.query(
    `SELECT row_number, sku, name, quantity, price, currency, location, attributes FROM inventory_items
     WHERE upload_seq = $1 AND row_number > $2 ORDER BY row_number LIMIT $3`, [upload.seq, page.afterRow ?? 0, page.limit])
  return rows.map(toStoredItem)
}

export const toStoredItem = (r: Record<string, unknown>): StoredItem => ({
  rowNumber: r.row_number as number,
  sku: r.sku as string,
  name: r.name as string | null,
  quantity: r.quantity as number | null,
  price: r.price as number | null,
  currency: r.currency as string | null,
  location: r.location as string | null,
  attributes: r.attributes as Record<string, unknown>,
})

export interface RejectedRow { row: number, reason: string, raw?: Record<string, unknown> }

export async function insertRejectedRows (q: Queryable, uploadId: string, rejected: RejectedRow[]): Promise<void> {
  if (rejected.length === 0) return
  await q.query(
    `INSERT INTO inventory_rejected_rows (upload_id, row_number, reason, raw)
     SELECT $1, r.row, r.reason, r.raw FROM jsonb_to_recordset($2::jsonb) AS r(row integer, reason text, raw jsonb)`,
    [uploadId, json(rejected)])
}

export async function listRejectedRows (q: Queryable, uploadId: string): Promise<RejectedRow[]> {
  const { rows } = await q.query('SELECT row_number, reason FROM inventory_rejected_rows WHERE upload_id = $1 ORDER BY row_number', [uploadId])
  return rows.map(r => ({ row: r.row_number as number, reason: r.reason as string }))
}

/**
 * Writes items in bulk inside the caller's transaction: COPY on PostgreSQL (the fastest path the
 * server has), multi-row INSERTs from a JSON batch on PGlite. Memory holds one batch at a time.
 */
export interface ItemWriter {
  /** writes a batch of items (the caller's array is not kept) */
  write(items: readonly CanonicalItem[]): Promise<void>
  finish(): Promise<void>
  /** stops a COPY that will not be finished (the file is being rolled back) */
  abort(): Promise<void>
}

/** Items per INSERT on PGlite: one statement per batch, whatever size the parser's batches have. */
const INSERT_BATCH = 1000

export function createItemWriter (tx: Transaction, upload: Pick<InventoryUpload, 'seq'>): ItemWriter {
  return tx.copyFrom ? copyWriter(tx, upload) : insertWriter(tx, upload)
}

function insertWriter (tx: Transaction, upload: Pick<InventoryUpload, 'seq'>): ItemWriter {
  let batch: CanonicalItem[] = []
  const flush = async () => {
    if (batch.length === 0) return
    const rows = batch
    batch = []
    await tx.query(
      `INSERT INTO inventory_items (upload_seq, row_number, sku, name, quantity, price, currency, location, attributes)
       SELECT $1, r.row, r.sku, r.name, r.quantity, r.price, r.currency, r.location, coalesce(r.attributes, '{}')
       FROM jsonb_to_recordset($2::jsonb)
         AS r(row integer, sku text, name text, quantity numeric, price numeric, currency text, location text, attributes jsonb)`,
      [upload.seq, json(rows)])
  }
  return {
    async write (items) {
      for (const item of items) batch.push(item)
      if (batch.length >= INSERT_BATCH) await flush()
    },
    finish: flush,
    async abort () { batch = [] },
  }
}

// COPY text format: backslash, newline, carriage return and tab are escaped; \N is NULL.
const COPY_SPECIAL = /[\\\n\r\t]/
const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }
const copyText = (value: string | null): string => {
  if (value === null) return '\\N'
  // most values need no escaping: test first, replace only when needed (this runs per cell)
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\n\r\t]/g, c => COPY_ESCAPES[c]) : value
}
// a number's text never needs escaping
const copyNumber = (value: number | null): string => value === null ? '\\N' : String(value)

function copyWriter (tx: Transaction, upload: Pick<InventoryUpload, 'seq'>): ItemWriter {
  // The COPY starts at the first item, not before: a pg connection runs one statement at a time,
  // so an open COPY would block every other query of the transaction (deadlock).
  let copy: Writable | undefined
  let failed: Error | undefined
  const prefix = `${upload.seq}\t`
  const open = (): Writable => {
    if (!copy) {
      copy = tx.copyFrom!(
        'COPY inventory_items (upload_seq, row_number, sku, name, quantity, price, currency, location, attributes) FROM STDIN') as unknown as Writable
      copy.on('error', (err?: Error) => { failed = err })
    }
    return copy
  }
  return {
    async write (items) {
      if (items.length === 0) return
      if (failed) throw failed
      // one string and one write per batch
      let text = ''
      for (let i = 0; i < items.length; i++) {
        const item = items[i]
        text += prefix + item.row + '\t' + copyText(item.sku) + '\t' + copyText(item.name) + '\t' + copyNumber(item.quantity) + '\t' +
          copyNumber(item.price) + '\t' + copyText(item.currency) + '\t' + copyText(item.location) + '\t' + copyText(JSON.stringify(item.attributes)) + '\n'
      }
      const w = open()
      // events.once removes both listeners when either fires (a once('error') per drain would pile up)
      if (!w.write(text)) await once(w, 'drain')
    },
    async finish () {
      if (!copy) return
      const done = pipelineEnd(copy)
      copy.end()
      await done
    },
    async abort () {
      const w = copy
      if (!w || w.writableFinished || w.destroyed) return
      // The stream already failed (the connection broke, or the server ended the COPY): there is no
      // connection to hand back, and waiting for 'close' could wait forever — pg-copy-streams only
      // completes a destroy once the server answers, which a dead connection never does (found by
      // the chaos suite: a pull hung after a PostgreSQL restart).
      if (failed) {
        w.destroy()
        return
      }
      // destroying the stream sends CopyFail; wait until the driver has the connection back
      await new Promise<void>(resolve => { w.once('close', () => resolve()); w.destroy(new Error('ingest aborted')) })
    },
  }
}

function pipelineEnd (w: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    w.once('finish', () => resolve())
    w.once('error', reject)
  })
}

/** Renews the staging lease of an upload still staging; false once it lapsed (the sweep may be purging it). */
export async function extendStaging (q: Queryable, id: string, seconds: number): Promise<boolean> {
  const { rowCount } = await q.query(
    'UPDATE inventory_uploads SET staged_until = now() + make_interval(secs => $2::double precision) WHERE id = $1 AND staged_until > now()',
    [id, seconds])
  return rowCount > 0
}

/**
 * Publishes a staged upload with its final counts; null when its staging lease lapsed first. The
 * sweep claims an upload only once its lease is past (claimAbandonedUploads), and both statements
 * take the row lock, so an upload is either published or purged, never both.
 */
export async function publishUpload (
  q: Queryable, id: string, f: { format: string, encoding: string, bytes: number, rowsAccepted: number, rowsRejected: number, warnings: string[] },
): Promise<InventoryUpload | null> {
  const { rows } = await q.query(
    `UPDATE inventory_uploads SET format = $2, encoding = $3, bytes = $4, rows_accepted = $5, rows_rejected = $6, warnings = $7::jsonb,
       staged_until = NULL
     WHERE id = $1 AND staged_until > now() RETURNING *`, [id, f.format, f.encoding, f.bytes, f.rowsAccepted, f.rowsRejected, json(f.warnings)])
  return rows[0] ? toUpload(rows[0]) : null
}

/** Gives up a staged upload: its lease is set in the past, so it can no longer be published and the sweep takes it. */
export async function abandonStaging (q: Queryable, id: string): Promise<void> {
  await q.query(`UPDATE inventory_uploads SET staged_until = '-infinity' WHERE id = $1 AND staged_until IS NOT NULL`, [id])
}

/**
 * Claims up to `limit` staged uploads whose lease is past (`asOf`, or the database's clock): each is
 * abandoned for good (a lease at -infinity is never renewed or published) and then purged by the caller.
 */
export async function claimAbandonedUploads (q: Queryable, asOf: Date | null, limit: number): Promise<Array<{ id: string, seq: number }>> {
  const { rows } = await q.query(
    `UPDATE inventory_uploads SET staged_until = '-infinity'
     WHERE id IN (SELECT id FROM inventory_uploads WHERE staged_until < coalesce($1, now()) ORDER BY staged_until LIMIT $2)
       AND staged_until < coalesce($1, now())
     RETURNING id, seq`, [asOf, limit])
  return rows.map(r => ({ id: r.id as string, seq: Number(r.seq) }))
}
