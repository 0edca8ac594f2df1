export default /* sql */ `
-- A running sync's manifest, one row per file, appended in the file's own transaction; when the
-- sync closes its entries are folded into syncs.manifest_json (docs/architecture.md, "A pull, end to end") in one write and removed.
-- Appending to the jsonb column itself rewrote the whole array for every file (quadratic: ~140 MB
-- of dead TOAST for a pull of 2,000 files) and held the sync row's lock until commit, so the file
-- transactions of one pull committed one after the other.
-- n orders the entries of a sync as they were appended. files, bytes, rows_accepted and
-- rows_rejected are this entry's share of the sync's counters, which are refreshed as their sums
-- (while a pull runs, with its progress; and when the sync closes).
CREATE TABLE sync_manifest_entries (
  sync_id        uuid NOT NULL REFERENCES syncs(id) ON DELETE CASCADE,
  n              bigint GENERATED ALWAYS AS IDENTITY,
  entry          jsonb NOT NULL,
  files          integer NOT NULL,
  bytes          bigint NOT NULL,
  rows_accepted  integer NOT NULL,
  rows_rejected  integer NOT NULL,
  PRIMARY KEY (sync_id, n)
);

-- manifest_json is NULL while a sync runs (its entries are in the table) and set when it closes.
-- The manifests of syncs running across the upgrade move into the table, in order, with the shares
-- the old writers counted: inbound syncs every file that was not skipped, a push its one delivered file.
ALTER TABLE syncs ALTER COLUMN manifest_json DROP NOT NULL, ALTER COLUMN manifest_json DROP DEFAULT;

INSERT INTO sync_manifest_entries (sync_id, entry, files, bytes, rows_accepted, rows_rejected)
SELECT s.id, e.entry,
  CASE WHEN s.direction = 'outbound' THEN (e.entry->>'status' = 'delivered')::int ELSE (e.entry->>'status' <> 'skipped')::int END,
  CASE WHEN (s.direction = 'outbound' AND e.entry->>'status' = 'delivered') OR (s.direction = 'inbound' AND e.entry->>'status' <> 'skipped')
    THEN coalesce((e.entry->>'size')::numeric, 0)::bigint ELSE 0 END,
  CASE WHEN s.direction = 'outbound' AND e.entry->>'status' <> 'delivered' THEN 0 ELSE coalesce((e.entry->>'rowsAccepted')::numeric, 0)::int END,
  CASE WHEN s.direction = 'outbound' THEN 0 ELSE coalesce((e.entry->>'rowsRejected')::numeric, 0)::int END
FROM syncs s CROSS JOIN LATERAL jsonb_array_elements(s.manifest_json) WITH ORDINALITY AS e(entry, i)
WHERE s.status = 'running'
ORDER BY s.id, e.i;

UPDATE syncs SET manifest_json = NULL WHERE status = 'running';
`
