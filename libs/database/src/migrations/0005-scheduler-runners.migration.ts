export const schedulerRunners = {
  version: 5,
  name: 'scheduler runners and the runner holding each running job',
  sql: /* sql */ `
-- One row per live scheduler process (a runner): it refreshes heartbeat_at every few seconds.
-- A runner whose heartbeat is older than its own lease is dead: the recovery leader of its
-- cluster deletes the row and ends the jobs it held in error (they may have started).
CREATE TABLE scheduler_runner (
  id           text PRIMARY KEY,
  cluster_name text NOT NULL,
  pid          integer NOT NULL,
  hostname     text NOT NULL,
  lease_ms     integer NOT NULL CHECK (lease_ms > 0),
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scheduler_runner_cluster ON scheduler_runner (cluster_name);

-- The runner that claimed a job (set with the start; kept afterwards for the record).
ALTER TABLE job ADD COLUMN runner_id text;
CREATE INDEX job_active_runner ON job (runner_id) WHERE state IN ('scheduled', 'running');
`,
};
