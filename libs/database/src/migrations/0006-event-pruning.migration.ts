export const eventPruning = {
  version: 6,
  name: 'event pruning: what each consumer reads, events by age',
  sql: /* sql */ `
-- What a consumer reads, so the pruner knows which rows it holds back: rows of event_type, and
-- of every cluster (cluster NULL) or of this cluster and unscoped ones. NULL event_type (a row
-- from before this migration, until its consumer starts again) holds back every type.
ALTER TABLE event_consumer ADD COLUMN event_type text;
ALTER TABLE event_consumer ADD COLUMN cluster text;

-- The pruner walks the oldest rows first.
CREATE INDEX event_created_at ON event (created_at);
`,
};
