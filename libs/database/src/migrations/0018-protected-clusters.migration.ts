export const protectedClusters = {
  version: 18,
  name: 'protected clusters: the projects a cluster runs',
  sql: /* sql */ `
-- cluster.projects of the install config: a protected cluster runs jobs of these projects only.
-- NULL: every project's.
ALTER TABLE cluster ADD COLUMN projects text[];
`,
};
