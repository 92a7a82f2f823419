export const jobConsole = {
  version: 2,
  name: 'job console chunks',
  sql: /* sql */ `
CREATE TABLE job_console (
  job_id     uuid NOT NULL REFERENCES job(id) ON DELETE CASCADE,
  seq        integer NOT NULL,
  text       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, seq)
);
`,
};
