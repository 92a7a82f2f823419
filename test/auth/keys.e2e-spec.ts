import { stat, readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeJwt, exportJWK, importJWK, JWK, jwtVerify } from 'jose';
import { ClusterKeyService, KeyMismatchError, KeyRepository, newPrivateKeyPem } from '@infrabox/auth';
import { currentClusterOf } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { placedJob, registeredCluster, strayKey, tokenServiceFor } from '../support/auth';
import { clusterConfig, testSigningKeyFile, uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

describe('cluster signing keys: private halves in key files, public halves pinned (real PostgreSQL)', () => {
  const dbs: Database[] = [];
  let db: Database;
  let other: Database;

  beforeAll(() => {
    for (let i = 0; i < 4; i++) dbs.push(openDatabase());
    [db, other] = dbs;
  });
  afterAll(() => Promise.all(dbs.map((d) => d.close())));

  const keyRows = (cluster: string) => db.query<{ public_jwk: JWK }>('SELECT public_jwk FROM cluster_key WHERE cluster = $1', [cluster]);
  const keyService = (d: Database, cluster: string) => new ClusterKeyService(clusterConfig(cluster), currentClusterOf(clusterConfig(cluster)), new KeyRepository(d));

  it('is made on first use in the key file (mode 600, PKCS#8 Ed25519); only the public half is in the database', async () => {
    const cluster = uniqueClusterName('key');
    expect(await keyRows(cluster)).toEqual([]);
    const key = await keyService(db, cluster).signingKey();
    const file = testSigningKeyFile(cluster);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o077).toBe(0);
    expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    const rows = await keyRows(cluster);
    expect(rows).toEqual([{ public_jwk: { kty: 'OKP', crv: 'Ed25519', x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } }]);
    expect(key.publicJwk).toEqual(rows[0].public_jwk);
    // Nothing in the database holds a private half (no column of any table holds 'd').
    const [{ leaks }] = await db.query<{ leaks: number }>(
      `SELECT count(*)::int AS leaks FROM information_schema.columns WHERE table_schema = 'public' AND column_name IN ('private_jwk', 'private_key')`,
    );
    expect(leaks).toBe(0);
  });

  it('the database refuses a private key, and a write that replaces or deletes a pinned key', async () => {
    const cluster = uniqueClusterName('key');
    await keyService(db, cluster).signingKey();
    const { privateKey, publicKey } = await strayKey();
    await expect(db.query('UPDATE cluster_key SET public_jwk = $2::jsonb WHERE cluster = $1', [cluster, JSON.stringify(await exportJWK(publicKey))])).rejects.toThrow(
      /the public key of cluster .* is pinned; rotate it with infrabox admin rotate-key/,
    );
    await expect(db.query('DELETE FROM cluster_key WHERE cluster = $1', [cluster])).rejects.toThrow(/is pinned/);
    await expect(
      db.query('INSERT INTO cluster_key (cluster, public_jwk) VALUES ($1, $2::jsonb)', [uniqueClusterName('key'), JSON.stringify(await exportJWK(privateKey))]),
    ).rejects.toThrow(/violates check constraint/);
  });

  it('is the same for two apps of one cluster on separate connections, and after a restart', async () => {
    const cluster = uniqueClusterName('key');
    const job = await placedJob(db, cluster);
    const first = tokenServiceFor(db, cluster);
    await first.onModuleInit();
    const token = await first.issueJobToken(job, 60);

    // Another process of the same cluster: its own connection, its own services, the same key file.
    const second = tokenServiceFor(other, cluster);
    expect(await second.verify(token)).toMatchObject({ kind: 'job', jobId: job.id, issuer: cluster });

    // A restart (new services over a new pool) still signs with the key file's key.
    const restarted = tokenServiceFor(dbs[2], cluster);
    expect(await restarted.verify(token)).toMatchObject({ jobId: job.id });
    expect(await first.verify(await restarted.issueClusterToken(cluster))).toEqual({ kind: 'cluster', cluster });
    expect(await keyRows(cluster)).toHaveLength(1);
  });

  it('concurrent first starts of a cluster all end up with the one key file and the one pinned key', async () => {
    for (let round = 0; round < 5; round++) {
      const cluster = uniqueClusterName('key');
      await registeredCluster(db, cluster);
      const keys = await Promise.all(dbs.map((d) => keyService(d, cluster).signingKey()));
      const [stored] = await keyRows(cluster);
      for (const key of keys) expect(key.publicJwk).toEqual(stored.public_jwk);
      expect(await keyRows(cluster)).toHaveLength(1);

      // And each one's tokens verify on each other one.
      const tokens = dbs.map((d) => tokenServiceFor(d, cluster));
      const issued = await Promise.all(tokens.map((t) => t.issueClusterToken(cluster, 60)));
      for (const verifier of tokens) {
        for (const token of issued) expect(await verifier.verify(token)).toEqual({ kind: 'cluster', cluster });
      }
    }
  });

  it('pin racing on two connections with different keys: both get the one that won', async () => {
    for (let round = 0; round < 5; round++) {
      const cluster = uniqueClusterName('key');
      const jwks = await Promise.all([0, 1].map(async () => exportJWK((await strayKey()).publicKey)));
      const [a, b] = await Promise.all([new KeyRepository(db).pin(cluster, jwks[0]), new KeyRepository(other).pin(cluster, jwks[1])]);
      expect(a.publicJwk).toEqual(b.publicJwk);
      expect(jwks).toContainEqual(a.publicJwk);
      expect((await keyRows(cluster))[0].public_jwk).toEqual(a.publicJwk);
    }
  });

  it('an app whose key file is not the pinned key stops, naming the file and the way out', async () => {
    const cluster = uniqueClusterName('key');
    await keyService(db, cluster).signingKey();
    // The key file replaced (a new machine, a restored backup of another cluster's key):
    const elsewhere = clusterConfig(cluster);
    const replaced = path.join(path.dirname(testSigningKeyFile(cluster)), 'other.pem');
    await mkdir(path.dirname(replaced), { recursive: true });
    await writeFile(replaced, newPrivateKeyPem(), { mode: 0o600 });
    const service = new ClusterKeyService({ ...elsewhere, auth: { signingKey: replaced } }, currentClusterOf(elsewhere), new KeyRepository(db));
    const failure = service.signingKey();
    await expect(failure).rejects.toThrow(KeyMismatchError);
    await expect(failure).rejects.toThrow(new RegExp(`cluster '${cluster}': the token signing key ${replaced} is not the one pinned in the database on .*infrabox admin rotate-key`));
  });

  it('signs with the key file: a token of a fresh service verifies against the pinned JWK', async () => {
    const cluster = await registeredCluster(db, uniqueClusterName('key'));
    const service = tokenServiceFor(db, cluster);
    const token = await service.issueClusterToken('peer');
    const [row] = await keyRows(cluster);
    const { payload } = await jwtVerify(token, await importJWK(row.public_jwk, 'EdDSA'));
    expect(payload).toEqual(decodeJwt(token));
  });
});
