import { decodeJwt, exportJWK, importJWK, JWK, jwtVerify } from 'jose';
import { ClusterKeyService, KeyRepository } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { strayKey, tokenServiceFor } from '../support/auth';
import { uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

describe('cluster signing keys (real PostgreSQL)', () => {
  const dbs: Database[] = [];
  let db: Database;
  let other: Database;

  beforeAll(() => {
    for (let i = 0; i < 4; i++) dbs.push(openDatabase());
    [db, other] = dbs;
  });
  afterAll(() => Promise.all(dbs.map((d) => d.close())));

  const keyRows = (cluster: string) =>
    db.query<{ public_jwk: JWK; private_jwk: JWK }>(
      'SELECT public_jwk, private_jwk FROM cluster_key WHERE cluster = $1',
      [cluster],
    );
  const publishedKey = async (cluster: string) => (await new ClusterRepository(db).findPublicKey(cluster)) ?? null;

  it('is created on first use as an Ed25519 pair and kept in cluster_key', async () => {
    const cluster = uniqueClusterName('key');
    expect(await keyRows(cluster)).toEqual([]);
    const key = await new ClusterKeyService(new KeyRepository(db), new ClusterRepository(db)).signingKey(cluster);
    const rows = await keyRows(cluster);
    expect(rows).toHaveLength(1);
    expect(rows[0].public_jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(rows[0].private_jwk).toEqual({ ...rows[0].public_jwk, d: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(key.publicJwk).toEqual(rows[0].public_jwk);
  });

  it('is the same for two apps of one cluster on separate connections, and after a restart', async () => {
    const cluster = uniqueClusterName('key');
    const first = tokenServiceFor(db, cluster);
    await first.onModuleInit();
    const token = await first.issueJobToken({ id: 'j', buildId: 'b', projectId: 'p', parentIds: [] }, 60);

    // Another process of the same cluster: its own connection, its own services.
    const second = tokenServiceFor(other, cluster);
    expect(await second.verify(token)).toMatchObject({ kind: 'job', jobId: 'j', issuer: cluster });
    const back = await second.issueProjectToken('p', 'demo');
    expect(await first.verify(back)).toMatchObject({ kind: 'project', projectId: 'p' });

    // A restart (new services over a new pool) still signs with the stored key.
    const restarted = tokenServiceFor(dbs[2], cluster);
    expect(await restarted.verify(token)).toMatchObject({ jobId: 'j' });
    expect(await first.verify(await restarted.issueClusterToken(cluster))).toEqual({ kind: 'cluster', cluster });
    expect(await keyRows(cluster)).toHaveLength(1);
  });

  it('concurrent first starts of a cluster all end up with the one stored key', async () => {
    for (let round = 0; round < 5; round++) {
      const cluster = uniqueClusterName('key');
      const services = dbs.map((d) => new ClusterKeyService(new KeyRepository(d), new ClusterRepository(d)));
      const keys = await Promise.all(services.map((s) => s.signingKey(cluster)));
      const [stored] = await keyRows(cluster);
      for (const key of keys) expect(key.publicJwk).toEqual(stored.public_jwk);
      expect(await keyRows(cluster)).toHaveLength(1);

      // And each one's tokens verify on each other one.
      const tokens = dbs.map((d) => tokenServiceFor(d, cluster));
      const issued = await Promise.all(tokens.map((t, i) => t.issueJobToken({ id: `j${i}`, buildId: 'b', projectId: 'p', parentIds: [] }, 60)));
      for (const verifier of tokens) {
        for (const [i, token] of issued.entries()) expect(await verifier.verify(token)).toMatchObject({ jobId: `j${i}` });
      }
    }
  });

  it('insertIfMissing racing on two connections with different keys: both get the one that won', async () => {
    for (let round = 0; round < 5; round++) {
      const cluster = uniqueClusterName('key');
      const pairs = await Promise.all(
        [0, 1].map(async () => {
          const { privateKey, publicKey } = await strayKey();
          return { privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
        }),
      );
      const [a, b] = await Promise.all([new KeyRepository(db).insertIfMissing(cluster, pairs[0]), new KeyRepository(other).insertIfMissing(cluster, pairs[1])]);
      expect(a.publicJwk).toEqual(b.publicJwk);
      expect(a.privateJwk).toEqual(b.privateJwk);
      expect([pairs[0].publicJwk, pairs[1].publicJwk]).toContainEqual(a.publicJwk);
      expect((await keyRows(cluster))[0].public_jwk).toEqual(a.publicJwk);
    }
  });

  it('publishes the public key into the cluster row when the row exists', async () => {
    const cluster = uniqueClusterName('key');
    const clusters = new ClusterRepository(db);
    await clusters.register({ name: cluster, labels: [], apiUrl: 'http://127.0.0.1:1' });
    expect(await publishedKey(cluster)).toBeNull();

    const key = await new ClusterKeyService(new KeyRepository(db), clusters).signingKey(cluster);
    expect(await publishedKey(cluster)).toEqual(key.publicJwk);
    expect(await publishedKey(cluster)).not.toHaveProperty('d');
  });

  it('publicKeyOf reads cluster.public_key, falls back to cluster_key, and is null for an unknown cluster', async () => {
    const keys = new ClusterKeyService(new KeyRepository(db), new ClusterRepository(db));
    // No cluster row yet (the registry has not run): the key is found in cluster_key.
    const early = uniqueClusterName('key');
    const earlyKey = await keys.signingKey(early);
    expect(await publishedKey(early)).toBeNull();
    expect(await keys.publicKeyOf(early)).toEqual(earlyKey.publicJwk);

    // The published key wins over cluster_key.
    const published = await exportJWK((await strayKey()).publicKey);
    await new ClusterRepository(db).register({ name: early, labels: [], apiUrl: 'http://127.0.0.1:1' });
    expect(await new ClusterRepository(db).setPublicKey(early, published)).toBe(true);
    expect(await keys.publicKeyOf(early)).toEqual(published);

    expect(await keys.publicKeyOf(uniqueClusterName('unknown'))).toBeNull();
    expect(await new ClusterRepository(db).setPublicKey(uniqueClusterName('unknown'), published)).toBe(false);
  });

  it('signs with the stored key: a token of a fresh service verifies against the JWK in the table', async () => {
    const cluster = uniqueClusterName('key');
    const service = tokenServiceFor(db, cluster);
    const token = await service.issueClusterToken('peer');
    const [row] = await keyRows(cluster);
    const { payload } = await jwtVerify(token, await importJWK(row.public_jwk, 'EdDSA'));
    expect(payload).toEqual(decodeJwt(token));
  });
});
