export default /* sql */ `
-- A sync or a push can be cancelled by an operator (docs/reliability.md, "Cancel"): the sync ends
-- "cancelled" and its delivery stops retrying.
ALTER TABLE syncs DROP CONSTRAINT syncs_status_check;
ALTER TABLE syncs ADD CONSTRAINT syncs_status_check CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'cancelled'));
ALTER TABLE push_deliveries DROP CONSTRAINT push_deliveries_state_check;
ALTER TABLE push_deliveries ADD CONSTRAINT push_deliveries_state_check
  CHECK (state IN ('pending', 'delivering', 'delivered', 'retrying', 'failed', 'disabled', 'cancelled'));
-- history filters page by (source, status) and (source, trigger) newest first
CREATE INDEX syncs_source_status_idx ON syncs (source_id, status, id DESC);
CREATE INDEX syncs_source_trigger_idx ON syncs (source_id, trigger, id DESC);
`
