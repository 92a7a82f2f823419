export const eventPruning = {
  version: 6,
  name: 'event pruning: what each consumer reads, events by age; cluster channels',
  sql: /* sql */ `
-- What a consumer reads, so the pruner knows which rows it holds back: rows of event_type, and
-- of every cluster (cluster NULL) or of this cluster and unscoped ones. NULL event_type (a row
-- from before this migration, until its consumer starts again) holds back every type.
ALTER TABLE event_consumer ADD COLUMN event_type text;
ALTER TABLE event_consumer ADD COLUMN cluster text;

-- The pruner walks the oldest rows first.
CREATE INDEX event_created_at ON event (created_at);

-- A cluster-scoped event is notified on its cluster's channel (job_placed@worker-1) and on the
-- every-cluster channel (job_placed@*), no longer on the plain one: with 100 clusters, each
-- scheduler would otherwise receive (and drop) 99 notifications for each one of its own.
-- Names over 63 bytes fall back to the plain channel (clusterChannelOf() in libs/events).
CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  channel text := replace(NEW.type, '.', '_');
  message text := json_build_object(
      'id', NEW.id, 'tx', NEW.tx_id::text, 'type', NEW.type, 'cluster', NEW.cluster,
      'data', CASE WHEN octet_length(NEW.payload::text) <= 6000 THEN NEW.payload END
    )::text;
BEGIN
  IF NEW.cluster IS NULL THEN
    PERFORM pg_notify(channel, message);
  ELSE
    PERFORM pg_notify(CASE WHEN octet_length(channel || '@' || NEW.cluster) <= 63 THEN channel || '@' || NEW.cluster ELSE channel END, message);
    PERFORM pg_notify(CASE WHEN octet_length(channel || '@*') <= 63 THEN channel || '@*' ELSE channel END, message);
  END IF;
  RETURN NULL;
END $$;
`,
};
