export default /* sql */ `
-- Inbound webhook idempotency: one row per (source, webhook-id) ever accepted, inserted in the
-- same transaction as the delivered file's rows, so a repeated or concurrent webhook-id finds the
-- original sync and ingests nothing. Rows older than the retention (7 days) are purged on insert.
CREATE TABLE inbound_deliveries (
  source_id    uuid NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
  webhook_id   text NOT NULL,
  -- SET NULL, not CASCADE: if sync history is ever pruned, the id must still block a replay
  sync_id      uuid REFERENCES syncs(id) ON DELETE SET NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, webhook_id)
);
CREATE INDEX inbound_deliveries_received_idx ON inbound_deliveries (source_id, received_at);
`
