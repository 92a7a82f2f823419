export const eventNotifyCreatedAt = {
  version: 9,
  name: 'event NOTIFY carries created_at',
  sql: /* sql */ `
-- As 0001's event_notify, plus 'at' (created_at in epoch milliseconds), so a consumer can measure
-- the lag of an event delivered live without reading its row.
CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(
    replace(NEW.type, '.', '_'),
    json_build_object(
      'id', NEW.id, 'tx', NEW.tx_id::text, 'type', NEW.type, 'cluster', NEW.cluster,
      'at', floor(extract(epoch FROM NEW.created_at) * 1000),
      'data', CASE WHEN octet_length(NEW.payload::text) <= 6000 THEN NEW.payload END
    )::text);
  RETURN NULL;
END $$;
`,
};
