export const publicKeysOnly = {
  version: 17,
  name: 'cluster keys: public halves only, pinned',
  sql: /* sql */ `
-- Private keys leave the database: each cluster keeps its own in a file of mode 600 (auth.signing_key
-- of its install config, a Kubernetes Secret in the chart). The pairs stored until now are dropped,
-- since every cluster could read their private halves: each cluster pins a new public key at its
-- next start, and tokens signed before are no longer accepted.
DROP TABLE cluster_key;
ALTER TABLE cluster DROP COLUMN public_key;

-- The public key that verifies each cluster's tokens, pinned by the cluster's first start. No
-- foreign key to cluster: an app may sign before the registry has written the cluster's row.
CREATE TABLE cluster_key (
  cluster    text PRIMARY KEY,
  public_jwk jsonb NOT NULL CHECK (
    public_jwk->>'kty' = 'OKP' AND public_jwk->>'crv' = 'Ed25519' AND public_jwk ? 'x' AND NOT public_jwk ? 'd'),
  pinned_at  timestamptz NOT NULL DEFAULT now()
);

-- A pinned key is replaced or removed only by a rotation (infrabox admin rotate-key), which names
-- the cluster in the transaction's infrabox.key_rotation setting; any other write is refused.
CREATE FUNCTION cluster_key_pinned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('infrabox.key_rotation', true) IS DISTINCT FROM OLD.cluster THEN
    RAISE EXCEPTION 'the public key of cluster % is pinned; rotate it with infrabox admin rotate-key', OLD.cluster
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER cluster_key_pinned BEFORE UPDATE OR DELETE ON cluster_key
  FOR EACH ROW EXECUTE FUNCTION cluster_key_pinned();
`,
};
