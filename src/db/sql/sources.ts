import type { Queryable } from '../client.js'
import type { DataSource, SourceConfig } from '../../domain/source.js'
import { iso, isoRequired, json } from './rows.js'

const toSource = (r: Record<string, unknown>): DataSource => ({
  id: r.id as string,
  orgId: r.org_id as string,
  agentId: r.agent_id as string,
  name: r.name as string,
  role: r.role as DataSource['role'],
  type: r.type as DataSource['type'],
  config: r.config as SourceConfig,
  scheduleCron: (r.schedule_cron as string | null) ?? null,
  enabled: r.enabled as boolean,
  autoPush: r.auto_push as boolean,
  validatedAt: iso(r.validated_at),
  validationSkipped: r.validation_skipped as boolean,
  lastTestAt: iso(r.last_test_at),
  lastTestOk: (r.last_test_ok as boolean | null) ?? null,
  lastSyncedAt: iso(r.last_synced_at),
  nextPullAt: iso(r.next_pull_at),
  createdAt: isoRequired(r.created_at),
  updatedAt: isoRequired(r.updated_at),
})

export interface SourceFields {
  name: string
  config: SourceConfig
  scheduleCron: string | null
  enabled: boolean
  autoPush: boolean
  validatedAt: Date | null
  validationSkipped: boolean
  nextPullAt: Date | null
}

export async function insertSource (
  q: Queryable, s: SourceFields & { id: string, orgId: string, agentId: string, role: string, type: string },
): Promise<DataSource> {
  const { rows } = await q.query(
    `INSERT INTO data_sources
       (id, org_id, agent_id, name, role, type, config, schedule_cron, enabled, auto_push, validated_at, validation_skipped, next_pull_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13) RETURNING *`,
    [s.id, s.orgId, s.agentId, s.name, s.role, s.type, json(s.config), s.scheduleCron, s.enabled, s.autoPush, s.validatedAt, s.validationSkipped, s.nextPullAt])
  return toSource(rows[0])
}

export async function updateSource (q: Queryable, orgId: string, id: string, s: SourceFields): Promise<DataSource | null> {
  const { rows } = await q.query(
    `UPDATE data_sources SET name = $3, config = $4::jsonb, schedule_cron = $5, enabled = $6, auto_push = $7,
       validated_at = $8, validation_skipped = $9, next_pull_at = $10, updated_at = now()
     WHERE org_id = $1 AND id = $2 RETURNING *`,
    [orgId, id, s.name, json(s.config), s.scheduleCron, s.enabled, s.autoPush, s.validatedAt, s.validationSkipped, s.nextPullAt])
  return rows[0] ? toSource(rows[0]) : null
}

export async function getSource (q: Queryable, orgId: string, agentId: string, id: string): Promise<DataSource | null> {
  const { rows } = await q.query('SELECT * FROM data_sources WHERE org_id = $1 AND agent_id = $2 AND id = $3', [orgId, agentId, id])
  return rows[0] ? toSource(rows[0]) : null
}

/** By id alone: for jobs, whose payload is only the id (the org comes from the row). */
export async function getSourceById (q: Queryable, id: string): Promise<DataSource | null> {
  const { rows } = await q.query('SELECT * FROM data_sources WHERE id = $1', [id])
  return rows[0] ? toSource(rows[0]) : null
}

/** Several by id (a batch of pushes loads its sinks at once); missing ids are left out. */
export async function getSourcesByIds (q: Queryable, ids: string[]): Promise<Map<string, DataSource>> {
  const { rows } = await q.query('SELECT * FROM data_sources WHERE id = ANY($1::uuid[])', [[...new Set(ids)]])
  return new Map(rows.map(r => [r.id as string, toSource(r)]))
}

export async function listSources (q: Queryable, orgId: string, agentId: string): Promise<DataSource[]> {
  const { rows } = await q.query('SELECT * FROM data_sources WHERE org_id = $1 AND agent_id = $2 ORDER BY id', [orgId, agentId])
  return rows.map(toSource)
}

export async function listSourcesOfAgent (q: Queryable, agentId: string): Promise<DataSource[]> {
  const { rows } = await q.query('SELECT * FROM data_sources WHERE agent_id = $1 ORDER BY id', [agentId])
  return rows.map(toSource)
}

export async function deleteSource (q: Queryable, orgId: string, agentId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM data_sources WHERE org_id = $1 AND agent_id = $2 AND id = $3', [orgId, agentId, id])
  return rowCount > 0
}

/** Sources whose config refers to a vault entry (for the vault's "in use" check). */
export async function findSourcesUsingSecret (q: Queryable, orgId: string, secretId: string): Promise<Array<{ id: string, name: string, agentId: string }>> {
  const { rows } = await q.query(
    `SELECT id, name, agent_id FROM data_sources
     WHERE org_id = $1 AND (config->>'secretRef' = $2 OR config->>'headerSecretRef' = $2) ORDER BY id`, [orgId, secretId])
  return rows.map(r => ({ id: r.id as string, name: r.name as string, agentId: r.agent_id as string }))
}

export async function setNextPullAt (q: Queryable, id: string, nextPullAt: Date | null): Promise<void> {
  await q.query('UPDATE data_sources SET next_pull_at = $2 WHERE id = $1', [id, nextPullAt])
}

export async function recordTestResult (q: Queryable, id: string, ok: boolean): Promise<void> {
  await q.query('UPDATE data_sources SET last_test_at = now(), last_test_ok = $2 WHERE id = $1', [id, ok])
}

export async function disableSource (q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE data_sources SET enabled = false, auto_push = false, next_pull_at = NULL, updated_at = now() WHERE id = $1', [id])
}

// ---- pull lease (fencing) ----

/**
 * Takes the source's pull lease unless another live pull holds it. Only the holder of the token
 * can commit files (assertLease) or finish the pull; an expired lease (a dead worker) is taken over.
 */
export async function acquireLease (q: Queryable, sourceId: string, token: string, ttlSeconds: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE data_sources SET lease_token = $2, lease_expires_at = now() + make_interval(secs => $3)
     WHERE id = $1 AND (lease_token IS NULL OR lease_expires_at < now() OR lease_token = $2)`, [sourceId, token, ttlSeconds])
  return rowCount > 0
}

export async function renewLease (q: Queryable, sourceId: string, token: string, ttlSeconds: number): Promise<boolean> {
  const { rowCount } = await q.query(
    'UPDATE data_sources SET lease_expires_at = now() + make_interval(secs => $3) WHERE id = $1 AND lease_token = $2', [sourceId, token, ttlSeconds])
  return rowCount > 0
}

/**
 * The fencing check, the last statement of a file's transaction: is the lease still ours? It share-
 * locks the source row until commit. The lease only moves through UPDATEs of that row (acquire,
 * renew, release), and an UPDATE waits for every share lock, so a takeover cannot commit between
 * this check and the file's commit; a takeover that committed first is what this check reads (a
 * locking read sees the latest committed row, waiting for an UPDATE in progress). SHARE, not
 * NO KEY UPDATE: share locks do not conflict with each other (nor with the KEY SHARE locks the
 * ledger's foreign key takes), so the files of one pull commit side by side instead of queueing
 * behind one row lock for every commit.
 */
export async function holdsLease (q: Queryable, sourceId: string, token: string): Promise<boolean> {
  const { rows } = await q.query('SELECT lease_token FROM data_sources WHERE id = $1 FOR SHARE', [sourceId])
  return rows[0]?.lease_token === token
}

export async function leaseActive (q: Queryable, sourceId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM data_sources WHERE id = $1 AND lease_token IS NOT NULL AND lease_expires_at > now()', [sourceId])
  return rows.length > 0
}

export async function releaseLease (q: Queryable, sourceId: string, token: string): Promise<void> {
  await q.query('UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_token = $2', [sourceId, token])
}

/**
 * For the lost-pull sweep: locks the rows of these sources whose lease is free or expired (a pull
 * that took one over meanwhile is re-read and left alone; a row a file transaction is committing
 * against is skipped until the next sweep) and clears the expired leases, so a stalled holder that
 * wakes up fails its fencing check (holdsLease) instead of committing into a closed sync. Until the
 * transaction ends no file of these sources can commit; statements after this one see every file
 * that did. Returns the ids locked.
 */
export async function takeDeadLeases (q: Queryable, sourceIds: string[]): Promise<Set<string>> {
  if (sourceIds.length === 0) return new Set()
  const { rows } = await q.query(
    `SELECT id FROM data_sources WHERE id = ANY($1::uuid[]) AND (lease_token IS NULL OR lease_expires_at < now()) FOR UPDATE SKIP LOCKED`, [sourceIds])
  const ids = rows.map(r => r.id as string)
  if (ids.length) {
    await q.query('UPDATE data_sources SET lease_token = NULL, lease_expires_at = NULL WHERE id = ANY($1::uuid[]) AND lease_token IS NOT NULL', [ids])
  }
  return new Set(ids)
}

export async function setLastSyncedAt (q: Queryable, sourceId: string, at: Date): Promise<void> {
  await q.query('UPDATE data_sources SET last_synced_at = GREATEST(coalesce(last_synced_at, $2), $2) WHERE id = $1', [sourceId, at])
}

// ---- file ledger ----

export interface LedgerKey { key: string, etag: string }

/** Which of these (key, etag) pairs the ledger already holds. */
export async function ledgerContains (q: Queryable, sourceId: string, files: LedgerKey[]): Promise<Set<string>> {
  if (files.length === 0) return new Set()
  const { rows } = await q.query<{ key: string, etag: string }>(
    `SELECT l.key, l.etag FROM source_files l
     JOIN jsonb_to_recordset($2::jsonb) AS f(key text, etag text) ON l.key = f.key AND l.etag = f.etag
     WHERE l.source_id = $1`, [sourceId, json(files)])
  return new Set(rows.map(r => `${r.etag}\u0000${r.key}`))
}

export const ledgerId = (f: LedgerKey): string => `${f.etag}\u0000${f.key}`

/**
 * The validator of the newest ledger row of one key: what a kind that polls a single file (HTTPS)
 * sends back as `If-None-Match` / `If-Modified-Since`.
 */
export async function latestLedgerEntry (q: Queryable, sourceId: string, key: string): Promise<{ etag: string, lastModified: Date | null } | null> {
  const { rows } = await q.query<{ etag: string, last_modified: Date | string | null }>(
    `SELECT etag, last_modified FROM source_files WHERE source_id = $1 AND key = $2
     ORDER BY recorded_at DESC, etag DESC LIMIT 1`, [sourceId, key])
  if (!rows[0]) return null
  const lm = rows[0].last_modified
  return { etag: rows[0].etag, lastModified: lm === null ? null : new Date(lm) }
}

export async function insertLedgerEntry (
  q: Queryable,
  e: {
    sourceId: string, key: string, etag: string, size: number, lastModified: Date | null,
    status: 'ingested' | 'rejected' | 'skipped', uploadId?: string | null, syncId: string,
  },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO source_files (source_id, key, etag, size, last_modified, status, upload_id, sync_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
    [e.sourceId, e.key, e.etag, e.size, e.lastModified, e.status, e.uploadId ?? null, e.syncId])
  return rowCount > 0
}

/** The redacted display form of the vault entries sources refer to (never a value). */
export async function redactedSecretsByIds (
  q: Queryable, orgId: string, ids: string[],
): Promise<Map<string, { id: string, name: string, type: string, redacted: unknown }>> {
  if (ids.length === 0) return new Map()
  const { rows } = await q.query('SELECT id, name, type, redacted FROM secrets WHERE org_id = $1 AND id = ANY($2::uuid[])', [orgId, [...new Set(ids)]])
  return new Map(rows.map(r => [r.id as string, { id: r.id as string, name: r.name as string, type: r.type as string, redacted: r.redacted }]))
}

/**
 * Backfill: forgets the source's file-ledger entries — all, or those of objects last modified at or
 * after `since` — so the next pull takes those files again. Returns how many were forgotten.
 */
export async function forgetLedgerEntries (q: Queryable, sourceId: string, since: Date | null): Promise<number> {
  const { rowCount } = await q.query(
    'DELETE FROM source_files WHERE source_id = $1 AND ($2::timestamptz IS NULL OR last_modified >= $2::timestamptz)', [sourceId, since])
  return rowCount
}
