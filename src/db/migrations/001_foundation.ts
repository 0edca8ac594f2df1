export default /* sql */ `
CREATE TABLE organisations (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id                 uuid PRIMARY KEY,
  org_id             uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  name               text NOT NULL,
  -- sha256 of the key: keys are 256-bit random strings, so a fast hash is enough and lookups stay O(1)
  key_hash           text NOT NULL UNIQUE,
  -- the last four characters, so a person can tell keys apart without the key
  key_hint           text NOT NULL,
  is_instance_admin  boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  last_used_at       timestamptz
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);

CREATE TABLE agents (
  id             uuid PRIMARY KEY,
  org_id         uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  name           text NOT NULL,
  schedule_cron  text NOT NULL,
  timezone       text NOT NULL,
  rules          jsonb NOT NULL,
  mapping        jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_org_idx ON agents (org_id, id);
`
