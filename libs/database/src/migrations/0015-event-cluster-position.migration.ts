export const eventClusterPosition = {
  version: 15,
  name: 'event index by type, cluster and position',
  sql: /* sql */ `
-- A cluster's consumer reads its cluster's events and the unscoped ones. Through
-- (type, tx_id, id) alone it walked every cluster's rows past its position and threw the others
-- away: after one placement of 2,000 jobs over 100 clusters, each of the 100 catch-ups read all
-- 2,000 rows for its 20. Two ranges of this index (cluster = $2, cluster IS NULL) read only its own.
CREATE INDEX event_cluster_position ON event (type, cluster, tx_id, id);
`,
};
