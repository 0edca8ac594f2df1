export default /* sql */ `
-- Short ingest transactions (docs/decisions.md, "Short transactions for ingest"): a file bigger than
-- one chunk stages its rows under an upload that stays invisible until the file is published in one
-- short final transaction. staged_until is the staging lease: NULL = published (every row before this
-- migration); a time = still staging, renewed as chunks land; past = abandoned, purged by the sweep.
ALTER TABLE inventory_uploads ADD COLUMN staged_until timestamptz;
CREATE INDEX inventory_uploads_staged_idx ON inventory_uploads (staged_until) WHERE staged_until IS NOT NULL;
`
