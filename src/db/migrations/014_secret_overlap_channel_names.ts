export default /* sql */ `
-- Webhook signing-secret rotation with overlap (docs/security.md): replacing a webhook secret's
-- value moves the sealed value it replaces into previous_* (still sealed, never decrypted by the
-- move); it verifies inbound signatures, and signs pushes next to the new one, until rotated_at +
-- FERRY_WEBHOOK_SECRET_OVERLAP_HOURS. Other secret types keep no previous value.
ALTER TABLE secrets
  ADD COLUMN previous_format_version integer,
  ADD COLUMN previous_ciphertext bytea,
  ADD COLUMN previous_nonce bytea,
  ADD COLUMN previous_tag bytea,
  ADD COLUMN previous_wrapped_key bytea,
  ADD COLUMN previous_kek_id text;

-- channels get a name (shown in the UI and in the audit log); existing ones are named by type
ALTER TABLE channels ADD COLUMN name text;
UPDATE channels SET name = type || ' channel' WHERE name IS NULL;
ALTER TABLE channels ALTER COLUMN name SET NOT NULL;
`
