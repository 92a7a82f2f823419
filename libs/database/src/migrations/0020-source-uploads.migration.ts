export const sourceUploads = {
  version: 20,
  name: 'uploaded sources recorded in the database, not in an upload.json beside the tar',
  sql: /* sql */ `
-- A source uploaded to a cluster's api (PUT /api/v1/projects/:project/source), until a build of
-- the project names it (and records it as the build's first source copy).
CREATE TABLE source_upload (
  id           uuid PRIMARY KEY,
  project_id   uuid NOT NULL REFERENCES project(id) ON DELETE CASCADE,
  -- The cluster whose api took it (and whose storage holds it): only a build there may use it.
  cluster_name text NOT NULL,
  storage_key  text NOT NULL,
  size_bytes   bigint NOT NULL CHECK (size_bytes >= 0),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now()
);
`,
};
