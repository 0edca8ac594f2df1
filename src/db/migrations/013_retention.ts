export default /* sql */ `
-- Retention (FERRY_RETENTION_DAYS, docs/reliability.md "Retention"): the daily purge finds its rows
-- by age across all organisations, in batches, so each table it purges needs an index on that age.
CREATE INDEX syncs_finished_idx ON syncs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX inventory_uploads_created_idx ON inventory_uploads (created_at);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX channel_deliveries_created_idx ON channel_deliveries (created_at);
CREATE INDEX inbound_deliveries_age_idx ON inbound_deliveries (received_at);
-- a purged sync sets inbound_deliveries.sync_id to NULL (ON DELETE SET NULL): without this index
-- every deleted sync would scan the table
CREATE INDEX inbound_deliveries_sync_idx ON inbound_deliveries (sync_id) WHERE sync_id IS NOT NULL;
-- Background tasks that one worker runs at a time across processes: a worker claims a task by moving
-- started_at forward (one UPDATE; a concurrent claim re-checks the row after the first commits).
CREATE TABLE maintenance_runs (
  task         text PRIMARY KEY,
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz
);
`
