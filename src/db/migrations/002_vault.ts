export default /* sql */ `
-- One row per vault entry. The value is sealed with AES-256-GCM under a per-secret data key; the
-- data key is wrapped by the master key whose id (fingerprint) is kek_id. AAD = (format_version,
-- org_id, id, type), so none of those columns can be changed or copied without decryption failing.
CREATE TABLE secrets (
  id              uuid PRIMARY KEY,
  org_id          uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  name            text NOT NULL,
  type            text NOT NULL CHECK (type IN ('aws', 'webhook', 'http_header')),
  format_version  smallint NOT NULL,
  ciphertext      bytea NOT NULL,
  nonce           bytea NOT NULL,
  tag             bytea NOT NULL,
  wrapped_key     bytea NOT NULL,
  kek_id          text NOT NULL,
  -- the API display form (mt_byo_**** + last four characters of each value), written with the
  -- value, so listing never decrypts anything
  redacted        jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  rotated_at      timestamptz
);
CREATE UNIQUE INDEX secrets_org_name_idx ON secrets (org_id, name);
CREATE INDEX secrets_kek_idx ON secrets (kek_id);

-- Master key (KEK) versions. Never the key: only its public fingerprint. Exactly one row is active
-- (retired_at IS NULL); a start with another key while secrets depend on this one is refused.
CREATE TABLE vault_master_keys (
  id          text PRIMARY KEY,
  version     integer NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  retired_at  timestamptz
);
CREATE UNIQUE INDEX vault_master_keys_one_active_idx ON vault_master_keys ((true)) WHERE retired_at IS NULL;
`
