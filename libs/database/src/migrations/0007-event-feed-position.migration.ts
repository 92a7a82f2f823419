export const eventFeedPosition = {
  version: 7,
  name: 'event feed position index',
  sql: /* sql */ `
-- Readers that follow every event type (the dashboard's SSE feed, \`infrabox events --follow\`)
-- read in commit-horizon order across types; consumers keep using event_type_position.
CREATE INDEX event_position ON event (tx_id, id);
`,
};
