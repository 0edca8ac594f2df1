/**
 * What must hold after every chaos scenario, checked against three independent records:
 * the S3 listing (what exists), the file ledger (what Ferry says it took) and the stored rows (what
 * actually landed).
 *
 * 1. every listed object is in the ledger exactly once under its (key, ETag), as `ingested`, and the
 *    ledger holds nothing that is not listed;
 * 2. every ledger entry points at exactly one upload of the source, and there is no upload of the
 *    source without a ledger entry (a file half-taken and not rolled back);
 * 3. each upload holds exactly the rows of its file (count and SKU set), no SKU of the source twice;
 * 4. no sync of the source is left `running`;
 * 5. across all syncs, each (key, ETag) is reported `ingested` in exactly one manifest;
 * 6. pending items: at most one open item per (source, type), and an open item's counters are sane;
 * 7. short ingest transactions: once the sweep has run past every staging lease (as it does once a
 *    killed worker's lease lapses), no staged (unpublished) upload of the source and no item without
 *    its upload remains.
 */
import type { Queryable } from '../../src/db/client.js'
import { STAGING_LEASE_SECONDS, purgeAbandonedUploads } from '../../src/retention/staged.js'

export interface ExpectedFile { key: string, etag: string, rows: number }

export interface InvariantReport { filesChecked: number, rowsChecked: number, anomalies: string[] }

/**
 * `listed`: the objects under the prefix now; `superseded`: earlier versions of listed keys (each was
 * ingested when it was current, so it must be in the ledger and its rows stored, once).
 */
export async function checkInvariants (q: Queryable, sourceId: string, listed: ExpectedFile[], superseded: ExpectedFile[] = []): Promise<InvariantReport> {
  const anomalies: string[] = []
  const expected = [...listed, ...superseded]
  const byVersion = new Map(expected.map(f => [`${f.key}\u0000${f.etag}`, f]))

  const ledger = (await q.query<{ key: string, etag: string, status: string, upload_id: string | null }>(
    'SELECT key, etag, status, upload_id FROM source_files WHERE source_id = $1', [sourceId])).rows
  const ledgerByKey = new Map<string, typeof ledger>()
  for (const l of ledger) ledgerByKey.set(l.key, [...(ledgerByKey.get(l.key) ?? []), l])
  for (const f of expected) {
    const entries = ledgerByKey.get(f.key) ?? []
    const same = entries.filter(e => e.etag === f.etag)
    if (same.length !== 1) anomalies.push(`ledger: ${f.key} (${f.etag}) has ${same.length} entries for its ETag (expected 1)`)
    else if (same[0].status !== 'ingested') anomalies.push(`ledger: ${f.key} is "${same[0].status}", expected "ingested"`)
  }
  for (const l of ledger) if (!byVersion.has(`${l.key}\u0000${l.etag}`)) anomalies.push(`ledger: ${l.key} (${l.etag}) was never in the S3 listing`)

  // a worker killed mid-file leaves its staged rows until its staging lease lapses: the sweep as it runs then
  await purgeAbandonedUploads(q, { asOf: new Date(Date.now() + (STAGING_LEASE_SECONDS + 60) * 1000) })
  const staged = (await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM inventory_uploads WHERE source_id = $1 AND staged_until IS NOT NULL', [sourceId])).rows[0].n
  if (staged > 0) anomalies.push(`staging: ${staged} unpublished uploads remain after the sweep`)
  const orphans = (await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM inventory_items i WHERE NOT EXISTS (SELECT 1 FROM inventory_uploads u WHERE u.seq = i.upload_seq)')).rows[0].n
  if (orphans > 0) anomalies.push(`staging: ${orphans} items belong to no upload`)

  const uploads = (await q.query<{ id: string, file_name: string, status: string, rows_accepted: number, items: number }>(
    `SELECT u.id, u.file_name, u.status, u.rows_accepted,
            (SELECT count(*) FROM inventory_items i WHERE i.upload_seq = u.seq)::int AS items
     FROM inventory_uploads u WHERE u.source_id = $1`, [sourceId])).rows
  const uploadById = new Map(uploads.map(u => [u.id, u]))
  const referenced = new Set<string>()
  let rowsChecked = 0
  for (const l of ledger) {
    const f = byVersion.get(`${l.key}\u0000${l.etag}`)
    if (!f) continue
    if (!l.upload_id) { anomalies.push(`ledger: ${l.key} has no upload`); continue }
    const u = uploadById.get(l.upload_id)
    if (!u) { anomalies.push(`ledger: ${l.key} points at a missing upload`); continue }
    referenced.add(u.id)
    if (u.items !== f.rows || u.rows_accepted !== f.rows) {
      anomalies.push(`rows: ${l.key} has ${u.items} stored rows (${u.rows_accepted} accepted), expected ${f.rows}`)
    }
    rowsChecked += u.items
  }
  for (const u of uploads) {
    if (!referenced.has(u.id)) anomalies.push(`uploads: ${u.file_name} (${u.id}) has no ledger entry — a file landed outside its transaction`)
  }

  const dupSkus = (await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT i.sku FROM inventory_items i JOIN inventory_uploads u ON u.seq = i.upload_seq
      WHERE u.source_id = $1 GROUP BY i.sku HAVING count(*) > 1) d`, [sourceId])).rows[0].n
  if (dupSkus > 0) anomalies.push(`rows: ${dupSkus} SKUs are stored more than once`)

  const running = (await q.query<{ n: number }>("SELECT count(*)::int AS n FROM syncs WHERE source_id = $1 AND status = 'running'", [sourceId])).rows[0].n
  if (running > 0) anomalies.push(`syncs: ${running} left running`)

  const reported = (await q.query<{ key: string, etag: string, n: number }>(
    // a closed sync's manifest is in manifest_json, a running one's in its entries
    `SELECT e->>'key' AS key, e->>'etag' AS etag, count(*)::int AS n FROM syncs s
     CROSS JOIN LATERAL jsonb_array_elements(coalesce(s.manifest_json, (SELECT jsonb_agg(m.entry) FROM sync_manifest_entries m WHERE m.sync_id = s.id), '[]')) e
     WHERE s.source_id = $1 AND e->>'status' = 'ingested' GROUP BY 1, 2`, [sourceId])).rows
  const reportedByKey = new Map(reported.map(r => [`${r.key}\u0000${r.etag}`, r.n]))
  for (const f of expected) {
    const n = reportedByKey.get(`${f.key}\u0000${f.etag}`) ?? 0
    if (n !== 1) anomalies.push(`manifests: ${f.key} is reported ingested by ${n} syncs (expected 1)`)
  }

  const pending = (await q.query<{ type: string, open: number, bad: number }>(
    `SELECT type, count(*) FILTER (WHERE status = 'open')::int AS open,
            count(*) FILTER (WHERE occurrences < 1 OR last_seen_at < first_seen_at OR (status = 'resolved') <> (resolved_at IS NOT NULL))::int AS bad
     FROM pending_items WHERE source_id = $1 GROUP BY type`, [sourceId])).rows
  for (const p of pending) {
    if (p.open > 1) anomalies.push(`pending items: ${p.open} open ${p.type} items (at most 1)`)
    if (p.bad > 0) anomalies.push(`pending items: ${p.bad} ${p.type} items with inconsistent counters or dates`)
  }
  return { filesChecked: expected.length, rowsChecked, anomalies }
}
