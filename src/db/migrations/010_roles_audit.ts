export default /* sql */ `
-- Every key was an organisation admin before roles existed, so existing keys keep that power. The
-- default is dropped right after: a new key always names its role, and a forgotten one fails the
-- insert instead of quietly becoming an admin.
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'admin' CHECK (role IN ('viewer', 'operator', 'admin'));
ALTER TABLE api_keys ALTER COLUMN role DROP DEFAULT;
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;

CREATE TABLE audit_log (
  id              uuid PRIMARY KEY,
  org_id          uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  at              timestamptz NOT NULL DEFAULT now(),
  -- no foreign key: the entries of a revoked key (and its revocation) outlive the key; null = the CLI
  actor_key_id    uuid,
  actor_name      text NOT NULL,
  actor_role      text NOT NULL,
  action          text NOT NULL,
  resource_type   text NOT NULL,
  resource_id     text NOT NULL,
  changes         jsonb
);
CREATE INDEX audit_log_org_idx ON audit_log (org_id, id DESC);
CREATE INDEX audit_log_resource_idx ON audit_log (org_id, resource_type, resource_id, id DESC);
`
