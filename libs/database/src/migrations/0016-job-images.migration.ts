export const jobImages = {
  version: 16,
  name: 'images of docker jobs per cluster registry; registry URL of each cluster',
  sql: /* sql */ `
-- Where a cluster's peers reach its image registry (its install config's registry.url).
ALTER TABLE cluster ADD COLUMN registry_url text;

-- One row per copy of the image a docker job built: in the registry of the cluster it was built
-- on (pushed there by the job), and in each cluster's registry it was copied to for a child.
-- The manifest digest is the image's identity: every copy has the same.
CREATE TABLE job_image (
  job_id       uuid NOT NULL REFERENCES job(id) ON DELETE CASCADE,
  cluster_name text NOT NULL REFERENCES cluster(name),
  repository   text NOT NULL,
  tag          text NOT NULL,
  digest       text NOT NULL CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
  size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, cluster_name)
);
`,
};
