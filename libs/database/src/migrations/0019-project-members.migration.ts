export const projectMembers = {
  version: 19,
  name: 'project members: the users who see and push a project',
  sql: /* sql */ `
-- A user (as the OpenID provider names them) who may read and push one project.
CREATE TABLE project_member (
  project_id uuid NOT NULL REFERENCES project (id) ON DELETE CASCADE,
  username   text NOT NULL CHECK (username <> ''),
  added_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, username)
);
CREATE INDEX project_member_username ON project_member (username);
`,
};
