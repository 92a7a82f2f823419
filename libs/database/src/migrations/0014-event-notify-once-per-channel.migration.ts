export const eventNotifyOncePerChannel = {
  version: 14,
  name: 'event NOTIFY: once per channel per transaction, batch inserts packed',
  sql: /* sql */ `
-- Where an event is announced: its type's channel (job_placed), or for a cluster-scoped event
-- its cluster's channel (job_placed@worker-1) and the every-cluster channel (job_placed@*).
-- A name past PostgreSQL's 63 bytes falls back to the type's channel.
CREATE FUNCTION event_channels(type text, cluster text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN cluster IS NULL THEN ARRAY[replace(type, '.', '_')]
    ELSE ARRAY[
      CASE WHEN octet_length(replace(type, '.', '_') || '@' || cluster) <= 63 THEN replace(type, '.', '_') || '@' || cluster ELSE replace(type, '.', '_') END,
      CASE WHEN octet_length(replace(type, '.', '_') || '@*') <= 63 THEN replace(type, '.', '_') || '@*' ELSE replace(type, '.', '_') END]
  END
$$;

-- Rows written by EventRepository.insertMany are announced by it in the same transaction, packed
-- into {"batch": [...]} messages per channel (see there): the row trigger leaves them alone.
ALTER TABLE event ADD COLUMN batched boolean NOT NULL DEFAULT false;
DROP TRIGGER event_notify ON event;
CREATE TRIGGER event_notify AFTER INSERT ON event FOR EACH ROW WHEN (NOT NEW.batched) EXECUTE FUNCTION event_notify();

-- PostgreSQL wakes every listening backend of the database on each notifying commit, and each
-- reads every queued message to find its channels. A placement of 2,000 jobs over 100 clusters
-- queued 4,000 messages (each job.placed on its cluster's channel and on the every-cluster one)
-- for each of the 100 listeners to read. Now the first event a transaction writes on a channel
-- is sent in full (a lone event still arrives with its data, without a query), and every later
-- one on that channel as the same marker {tx, type, more}, which PostgreSQL folds into
-- one message (identical payloads on one channel in one transaction are delivered once). A
-- consumer that receives the marker reads the table from its position, as for any message
-- without data. The channels already notified are kept in a transaction-local setting; a
-- wrong guess either way only costs a message or a read, never an event.
CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  target text;
  notified text := coalesce(current_setting('infrabox.notified_channels', true), '');
  changed boolean := false;
  message text;
  marker text;
BEGIN
  FOREACH target IN ARRAY event_channels(NEW.type, NEW.cluster) LOOP
    IF strpos(notified, E'\\n' || target || E'\\n') = 0 THEN
      notified := notified || E'\\n' || target || E'\\n';
      changed := true;
      message := coalesce(message, json_build_object(
          'id', NEW.id, 'tx', NEW.tx_id::text, 'type', NEW.type, 'cluster', NEW.cluster,
          'at', floor(extract(epoch FROM NEW.created_at) * 1000),
          'data', CASE WHEN octet_length(NEW.payload::text) <= 6000 THEN NEW.payload END
        )::text);
      PERFORM pg_notify(target, message);
    ELSE
      marker := coalesce(marker, json_build_object('tx', NEW.tx_id::text, 'type', NEW.type, 'more', true)::text);
      PERFORM pg_notify(target, marker);
    END IF;
  END LOOP;
  IF changed THEN
    PERFORM set_config('infrabox.notified_channels', notified, true);
  END IF;
  RETURN NULL;
END $$;
`,
};
