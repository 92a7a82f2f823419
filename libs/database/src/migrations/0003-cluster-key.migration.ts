export const clusterKey = {
  version: 3,
  name: 'cluster signing keys',
  sql: /* sql */ `
-- Each cluster's token signing key pair (Ed25519, as JWKs), shared by every app of the cluster.
-- No foreign key to cluster: an app may need its key before the registry has written the row.
-- Production would keep the private key in a Kubernetes Secret; the table keeps a local run simple.
CREATE TABLE cluster_key (
  cluster     text PRIMARY KEY,
  private_jwk jsonb NOT NULL,
  public_jwk  jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
`,
};
