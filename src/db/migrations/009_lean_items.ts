export default /* sql */ `
-- inventory_items.upload_id repeated the upload's uuid on every row next to upload_seq, which is the
-- key every read and the delete trigger use. Parsing a uuid per row cost PostgreSQL ~17 % of a large
-- file's COPY (bench/findings.md, ingest).
ALTER TABLE inventory_items DROP COLUMN upload_id;
`
