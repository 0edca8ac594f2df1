export default /* sql */ `
CREATE TABLE data_sources (
  id                uuid PRIMARY KEY,
  org_id            uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  agent_id          uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  name              text NOT NULL,
  role              text NOT NULL CHECK (role IN ('INVENTORY_SOURCE', 'RESULTS_SINK')),
  type              text NOT NULL CHECK (type IN ('s3', 'webhook')),
  config            jsonb NOT NULL,
  schedule_cron     text,
  enabled           boolean NOT NULL DEFAULT true,
  auto_push         boolean NOT NULL DEFAULT false,
  -- save-time validation: when it last passed, or that the caller skipped it ("validate": false)
  validated_at      timestamptz,
  validation_skipped boolean NOT NULL DEFAULT false,
  last_test_at      timestamptz,
  last_test_ok      boolean,
  last_synced_at    timestamptz,
  next_pull_at      timestamptz,
  -- pull lease: the one pull allowed to commit for this source (fencing against zombie jobs)
  lease_token       uuid,
  lease_expires_at  timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX data_sources_agent_idx ON data_sources (agent_id, id);
CREATE INDEX data_sources_due_idx ON data_sources (next_pull_at) WHERE enabled AND next_pull_at IS NOT NULL;
CREATE INDEX data_sources_secret_idx ON data_sources ((config->>'secretRef'));

-- agent_data_source_sync of the spec
CREATE TABLE syncs (
  id             uuid PRIMARY KEY,
  org_id         uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  source_id      uuid NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
  direction      text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  trigger        text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'webhook', 'job_complete')),
  status         text NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  files_count    integer NOT NULL DEFAULT 0,
  bytes          bigint NOT NULL DEFAULT 0,
  rows_accepted  integer NOT NULL DEFAULT 0,
  rows_rejected  integer NOT NULL DEFAULT 0,
  error          jsonb,
  manifest_json  jsonb NOT NULL DEFAULT '[]',
  -- progress while running, for "ferry pull --wait" and the UI
  progress       jsonb,
  job_id         uuid
);
CREATE INDEX syncs_source_idx ON syncs (source_id, id DESC);
CREATE INDEX syncs_running_idx ON syncs (source_id) WHERE status = 'running';

-- the file ledger: one row per (source, key, etag) ever taken, committed with the file's rows
CREATE TABLE source_files (
  source_id      uuid NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
  key            text NOT NULL,
  etag           text NOT NULL,
  size           bigint NOT NULL,
  last_modified  timestamptz,
  status         text NOT NULL CHECK (status IN ('ingested', 'rejected', 'skipped')),
  upload_id      uuid,
  sync_id        uuid,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source_id, key, etag)
);
`
