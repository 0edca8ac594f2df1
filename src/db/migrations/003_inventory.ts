export default /* sql */ `
CREATE TABLE inventory_uploads (
  id             uuid PRIMARY KEY,
  -- compact key for the items: a (bigint, int) primary key loads several times faster than (uuid, int)
  seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  org_id         uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  agent_id       uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  source_id      uuid,
  sync_id        uuid,
  file_name      text NOT NULL,
  format         text,
  encoding       text,
  bytes          bigint NOT NULL DEFAULT 0,
  rows_accepted  integer NOT NULL DEFAULT 0,
  rows_rejected  integer NOT NULL DEFAULT 0,
  -- ingested: the file landed (rejected rows are listed); rejected: the whole file was refused, no rows kept
  status         text NOT NULL CHECK (status IN ('ingested', 'rejected')),
  error          jsonb,
  warnings       jsonb NOT NULL DEFAULT '[]',
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inventory_uploads_agent_idx ON inventory_uploads (agent_id, id);

-- No foreign key on purpose: COPY fires a referential-integrity check per row, which more than
-- doubles the load time of a large file. Items are written only by the pipeline inside the
-- upload's own transaction, and the trigger below removes them with their upload.
CREATE TABLE inventory_items (
  upload_seq  bigint NOT NULL,
  upload_id   uuid NOT NULL,
  row_number  integer NOT NULL,
  sku         text NOT NULL,
  name        text,
  quantity    numeric,
  price       numeric,
  currency    text,
  location    text,
  attributes  jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (upload_seq, row_number)
);

CREATE FUNCTION inventory_items_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM inventory_items WHERE upload_seq = OLD.seq;
  RETURN OLD;
END $$;
CREATE TRIGGER inventory_uploads_delete_items AFTER DELETE ON inventory_uploads
  FOR EACH ROW EXECUTE FUNCTION inventory_items_cascade();

-- the first 100 rejected rows of an upload, in full; the rest are only counted
CREATE TABLE inventory_rejected_rows (
  upload_id   uuid NOT NULL REFERENCES inventory_uploads(id) ON DELETE CASCADE,
  row_number  integer NOT NULL,
  reason      text NOT NULL,
  raw         jsonb,
  PRIMARY KEY (upload_id, row_number)
);
`
