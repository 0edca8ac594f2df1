export default /* sql */ `
-- docs/scaling.md "Failures of scheduled pulls", "Pending item": something a person has to act on, filed by automatic pulls/pushes
CREATE TABLE pending_items (
  id             uuid PRIMARY KEY,
  org_id         uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  agent_id       uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  source_id      uuid NOT NULL REFERENCES data_sources(id) ON DELETE CASCADE,
  type           text NOT NULL CHECK (type IN ('DATA_SOURCE_PULL_FAILED', 'DATA_SOURCE_PUSH_FAILED')),
  status         text NOT NULL CHECK (status IN ('open', 'resolved')),
  message        text NOT NULL,
  occurrences    integer NOT NULL DEFAULT 1,
  -- the channels chosen when the item opened ("all" or [channel ids]); its resolution goes to the same
  notify         jsonb NOT NULL DEFAULT '"all"',
  first_seen_at  timestamptz NOT NULL DEFAULT now(),
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  resolved_at    timestamptz,
  resolution     text CHECK (resolution IN ('manual', 'auto')),
  CHECK ((status = 'open') = (resolved_at IS NULL))
);
-- one open item per (source, type): repeats update it (INSERT … ON CONFLICT on this index)
CREATE UNIQUE INDEX pending_items_open_uq ON pending_items (source_id, type) WHERE status = 'open';
CREATE INDEX pending_items_agent_idx ON pending_items (agent_id, id DESC);

-- docs/scaling.md "Notifications", "Channel": where an agent's pending items are announced
CREATE TABLE channels (
  id          uuid PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  agent_id    uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  type        text NOT NULL CHECK (type IN ('slack', 'webhook', 'email')),
  config      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channels_agent_idx ON channels (agent_id, id);
CREATE INDEX channels_secret_idx ON channels ((config->>'secretRef')) WHERE config ? 'secretRef';

-- one row per (channel, item, event): the notification is sent once, retried, and its outcome kept
CREATE TABLE channel_deliveries (
  id            uuid PRIMARY KEY,
  org_id        uuid NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
  channel_id    uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  item_id       uuid NOT NULL REFERENCES pending_items(id) ON DELETE CASCADE,
  event         text NOT NULL CHECK (event IN ('opened', 'resolved')),
  status        text NOT NULL CHECK (status IN ('queued', 'delivered', 'failed')),
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text,
  last_status   integer,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  delivered_at  timestamptz,
  UNIQUE (channel_id, item_id, event)
);
CREATE INDEX channel_deliveries_item_idx ON channel_deliveries (item_id);
`
