export const initial = {
  version: 1,
  name: 'initial schema',
  sql: /* sql */ `
CREATE TABLE cluster (
  name              text PRIMARY KEY,
  labels            text[] NOT NULL DEFAULT '{}',
  api_url           text NOT NULL,
  enabled           boolean NOT NULL DEFAULT true,
  active            boolean NOT NULL DEFAULT true,
  capacity          integer NOT NULL DEFAULT 10 CHECK (capacity >= 0),
  public_key        jsonb,
  registered_at     timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cluster_reachability (
  from_cluster text NOT NULL REFERENCES cluster(name) ON DELETE CASCADE,
  to_cluster   text NOT NULL REFERENCES cluster(name) ON DELETE CASCADE,
  reachable    boolean NOT NULL,
  rtt_ms       real,
  error        text,
  checked_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (from_cluster, to_cluster)
);

CREATE TABLE project (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE build (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES project(id) ON DELETE CASCADE,
  number      integer NOT NULL,
  source_key  text,
  source_cluster text REFERENCES cluster(name),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, number)
);

CREATE TYPE job_state AS ENUM
  ('queued', 'scheduled', 'running', 'finished', 'failure', 'error', 'killed', 'skipped', 'unstable');

CREATE TABLE job (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  build_id     uuid NOT NULL REFERENCES build(id) ON DELETE CASCADE,
  name         text NOT NULL,
  type         text NOT NULL,
  state        job_state NOT NULL DEFAULT 'queued',
  definition   jsonb NOT NULL,
  cluster_name text REFERENCES cluster(name),
  message      text,
  exit_code    integer,
  created_at   timestamptz NOT NULL DEFAULT now(),
  started_at   timestamptz,
  finished_at  timestamptz,
  UNIQUE (build_id, name)
);
CREATE INDEX job_cluster_state ON job (cluster_name, state);

CREATE TABLE job_dependency (
  job_id        uuid NOT NULL REFERENCES job(id) ON DELETE CASCADE,
  parent_job_id uuid NOT NULL REFERENCES job(id) ON DELETE CASCADE,
  on_states     text[] NOT NULL DEFAULT '{finished}',
  PRIMARY KEY (job_id, parent_job_id)
);
CREATE INDEX job_dependency_parent ON job_dependency (parent_job_id);

-- One row per copy of a job's output: where the job ran, and every cluster it was forwarded to.
CREATE TABLE job_output (
  job_id       uuid NOT NULL REFERENCES job(id) ON DELETE CASCADE,
  cluster_name text NOT NULL REFERENCES cluster(name),
  storage_key  text NOT NULL,
  size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, cluster_name)
);

-- The event log. tx_id orders catch-up by commit horizon, not by id alone: ids are taken at
-- insert, so a row with a smaller id can commit after one with a larger id.
CREATE TABLE event (
  id         bigserial PRIMARY KEY,
  tx_id      xid8 NOT NULL DEFAULT pg_current_xact_id(),
  type       text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*$' AND length(type) <= 63),
  cluster    text,
  payload    jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX event_type_position ON event (type, tx_id, id);

-- NOTIFY is only the wake-up; the row is the truth. The payload carries the event's own data
-- when it fits (it always does for events written through the emitter, which caps it), so the
-- common path needs no read back.
CREATE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(
    replace(NEW.type, '.', '_'),
    json_build_object(
      'id', NEW.id, 'tx', NEW.tx_id::text, 'type', NEW.type, 'cluster', NEW.cluster,
      'data', CASE WHEN octet_length(NEW.payload::text) <= 6000 THEN NEW.payload END
    )::text);
  RETURN NULL;
END $$;
CREATE TRIGGER event_notify AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION event_notify();

-- A consumer (app + cluster + handler) has handled every row with tx_id < horizon, plus the
-- rows listed in handled_ids (those at or above the horizon).
CREATE TABLE event_consumer (
  name        text PRIMARY KEY,
  horizon     xid8 NOT NULL DEFAULT '0',
  handled_ids bigint[] NOT NULL DEFAULT '{}',
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Events a handler still failed on after every retry: kept for an operator, not lost.
CREATE TABLE event_dead_letter (
  consumer   text NOT NULL,
  event_id   bigint NOT NULL REFERENCES event(id) ON DELETE CASCADE,
  attempts   integer NOT NULL,
  error      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
`,
};
