export const eventNotifyClusterChannels = {
  version: 13,
  name: 'event NOTIFY on cluster channels, carrying created_at',
  sql: /* sql */ `
-- 0006 moved cluster-scoped events to their cluster's channel (job_placed@worker-1) and the
-- every-cluster channel (job_placed@*); 0009, written alongside it, added 'at' (created_at in
-- epoch milliseconds) but from 0001's trigger, which put scoped events back on the plain channel
-- only. This is both: the channels of 0006 and the message of 0009.
CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  channel text := replace(NEW.type, '.', '_');
  message text := json_build_object(
      'id', NEW.id, 'tx', NEW.tx_id::text, 'type', NEW.type, 'cluster', NEW.cluster,
      'at', floor(extract(epoch FROM NEW.created_at) * 1000),
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
