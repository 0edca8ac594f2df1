export default /* sql */ `
-- mapping jobs: an upload's items projected through the agent's mapping.output
CREATE TABLE mapping_jobs (
  id           uuid PRIMARY KEY,
  org_id       uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  agent_id     uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  upload_id    uuid NOT NULL REFERENCES inventory_uploads(id) ON DELETE CASCADE,
  status       text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
  trigger      text NOT NULL CHECK (trigger IN ('manual', 'auto_map')),
  -- the projection the job was created with ([{ column, from, transform? }]): a retry or a later
  -- change of the agent's mapping never changes what a job produces
  output       jsonb NOT NULL,
  rows         integer NOT NULL DEFAULT 0,
  attempts     integer NOT NULL DEFAULT 0,
  error        jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz
);
CREATE INDEX mapping_jobs_agent_idx ON mapping_jobs (agent_id, id DESC);
CREATE INDEX mapping_jobs_upload_idx ON mapping_jobs (upload_id);

-- result rows in column order (a jsonb array: jsonb objects do not keep key order)
CREATE TABLE job_results (
  job_id      uuid NOT NULL REFERENCES mapping_jobs(id) ON DELETE CASCADE,
  row_number  integer NOT NULL,
  data        jsonb NOT NULL,
  PRIMARY KEY (job_id, row_number)
);

-- one outbound push of a job's results to a sink (1:1 with its outbound sync): the delivery state
-- machine. attempt counts attempts started; lease_token fences a worker that lost the delivery.
CREATE TABLE push_deliveries (
  id                uuid PRIMARY KEY,
  org_id            uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  sink_id           uuid NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
  job_id            uuid NOT NULL REFERENCES mapping_jobs(id) ON DELETE CASCADE,
  sync_id           uuid NOT NULL UNIQUE REFERENCES syncs(id) ON DELETE CASCADE,
  webhook_id        text NOT NULL,
  state             text NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'retrying', 'failed', 'disabled')),
  attempt           integer NOT NULL DEFAULT 0,
  lease_token       uuid,
  lease_expires_at  timestamptz,
  next_attempt_at   timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);
CREATE INDEX push_deliveries_open_idx ON push_deliveries (state, next_attempt_at) WHERE state IN ('pending', 'delivering', 'retrying');
CREATE INDEX push_deliveries_job_sink_idx ON push_deliveries (job_id, sink_id);
`
