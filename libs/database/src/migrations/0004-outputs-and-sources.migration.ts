export const outputsAndSources = {
  version: 4,
  name: 'outputs without bytes, build sources per cluster',
  sql: /* sql */ `
-- A job that wrote nothing to its output folder still gets a row (size 0), with no object.
ALTER TABLE job_output ALTER COLUMN storage_key DROP NOT NULL;
ALTER TABLE job_output ADD CONSTRAINT job_output_empty_has_no_object
  CHECK ((size_bytes = 0) = (storage_key IS NULL));

-- One row per copy of a build's source: where it was uploaded, and each cluster that fetched it.
CREATE TABLE build_source (
  build_id     uuid NOT NULL REFERENCES build(id) ON DELETE CASCADE,
  cluster_name text NOT NULL REFERENCES cluster(name),
  storage_key  text NOT NULL,
  size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (build_id, cluster_name)
);
`,
};
