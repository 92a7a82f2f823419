import { exportJWK } from 'jose';
import { InvalidTokenError, TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { nowSeconds, signingKeyOf, signRaw, strayKey, tokenServiceFor } from '../support/auth';
import { uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

/** Clusters A and B as two separate installations sharing the database, each with its own connections. */
describe('tokens across clusters (real PostgreSQL)', () => {
  let dbA: Database;
  let dbB: Database;
  let a: string;
  let b: string;
  let onA: TokenService;
  let onB: TokenService;

  beforeAll(async () => {
    dbA = openDatabase();
    dbB = openDatabase();
    [a, b] = [uniqueClusterName('a'), uniqueClusterName('b')];
    // Both registered before their apps start, as the registry does: the keys get published.
    for (const name of [a, b]) await new ClusterRepository(dbA).register({ name, labels: [], apiUrl: 'http://127.0.0.1:1' });
    onA = tokenServiceFor(dbA, a);
    onB = tokenServiceFor(dbB, b);
    await Promise.all([onA.onModuleInit(), onB.onModuleInit()]);
  });
  afterAll(async () => {
    await dbA.close();
    await dbB.close();
  });

  const reasonOf = async (verifier: TokenService, token: string): Promise<string> => {
    const error = await verifier.verify(token).then(
      () => null,
      (e: unknown) => e,
    );
    if (!(error instanceof InvalidTokenError)) throw new Error(`expected an InvalidTokenError, got ${String(error)}`);
    return error.reason;
  };
  const job = { id: 'job-1', buildId: 'build-1', projectId: 'project-1', parentIds: ['parent-1', 'parent-2'] };

  it('each kind round trips on its own cluster', async () => {
    expect(await onA.verify(await onA.issueJobToken(job, 60))).toEqual({
      kind: 'job',
      jobId: 'job-1',
      buildId: 'build-1',
      projectId: 'project-1',
      parents: ['parent-1', 'parent-2'],
      issuer: a,
    });
    expect(await onA.verify(await onA.issueClusterToken(a))).toEqual({ kind: 'cluster', cluster: a });
    expect(await onA.verify(await onA.issueProjectToken('project-1', 'demo'))).toEqual({
      kind: 'project',
      projectId: 'project-1',
      projectName: 'demo',
    });
  });

  it("a token signed by cluster A verifies on cluster B, which reads A's public key from the database", async () => {
    expect(await onB.verify(await onA.issueClusterToken(b))).toEqual({ kind: 'cluster', cluster: a });
    expect(await onB.verify(await onA.issueJobToken(job, 60))).toMatchObject({ kind: 'job', jobId: 'job-1', issuer: a });
    expect(await onB.verify(await onA.issueProjectToken('project-1', 'demo'))).toMatchObject({ kind: 'project' });
    // And the other way round.
    expect(await onA.verify(await onB.issueClusterToken(a))).toEqual({ kind: 'cluster', cluster: b });
  });

  it('verifies with the key published in the cluster row', async () => {
    const token = await onA.issueClusterToken(b);
    // Replace A's published key: a fresh verifier on B (nothing cached) must now refuse A's token,
    // so the published key is what it checked against.
    const published = await new ClusterRepository(dbA).findPublicKey(a);
    try {
      await new ClusterRepository(dbA).setPublicKey(a, await exportJWK((await strayKey()).publicKey));
      expect(await reasonOf(tokenServiceFor(dbB, b), token)).toBe('bad signature');
    } finally {
      await new ClusterRepository(dbA).setPublicKey(a, published!);
    }
    expect(await tokenServiceFor(dbB, b).verify(token)).toEqual({ kind: 'cluster', cluster: a });
  });

  it("keeps a peer's key briefly, then reads it again", async () => {
    let now = Date.now();
    const verifier = tokenServiceFor(dbB, b, { now: () => now, publicKeyCacheMs: 60_000 });
    const token = await onA.issueClusterToken(b, 3600);
    expect(await verifier.verify(token)).toEqual({ kind: 'cluster', cluster: a });
    const published = await new ClusterRepository(dbA).findPublicKey(a);
    try {
      await new ClusterRepository(dbA).setPublicKey(a, await exportJWK((await strayKey()).publicKey));
      now += 59_000;
      expect(await verifier.verify(token)).toEqual({ kind: 'cluster', cluster: a }); // cached
      now += 2_000;
      expect(await reasonOf(verifier, token)).toBe('bad signature'); // read again
    } finally {
      await new ClusterRepository(dbA).setPublicKey(a, published!);
    }
    now += 61_000;
    expect(await verifier.verify(token)).toEqual({ kind: 'cluster', cluster: a });
  });

  it('a cluster token for another audience is refused', async () => {
    const forB = await onA.issueClusterToken(b);
    expect(await reasonOf(onA, forB)).toBe('wrong audience'); // A itself is not the audience
    const third = tokenServiceFor(dbB, uniqueClusterName('c'));
    expect(await reasonOf(third, forB)).toBe('wrong audience');
  });

  it('an expired token is refused, on its own cluster and on a peer', async () => {
    const inThePast = tokenServiceFor(dbA, a, { now: () => Date.now() - 3_600_000 });
    const expired = await inThePast.issueJobToken(job, 600);
    expect(await reasonOf(onA, expired)).toBe('token expired');
    expect(await reasonOf(onB, expired)).toBe('token expired');
    expect(await reasonOf(onB, await inThePast.issueClusterToken(b))).toBe('token expired');
  });

  it('a tampered token is refused: changed signature, changed claims, or a signature from another token', async () => {
    const token = await onA.issueJobToken(job, 600);
    const [header, payload, signature] = token.split('.');
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect(await reasonOf(onB, `${header}.${payload}.${flipped}`)).toBe('bad signature');

    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), parents: ['parent-1', 'someone-else'] }),
    ).toString('base64url');
    expect(await reasonOf(onB, `${header}.${widened}.${signature}`)).toBe('bad signature');

    const otherSignature = (await onA.issueJobToken({ ...job, id: 'job-2' }, 600)).split('.')[2];
    expect(await reasonOf(onB, `${header}.${payload}.${otherSignature}`)).toBe('bad signature');
  });

  it('a token from an unknown issuer is refused', async () => {
    const stray = await strayKey();
    const unknown = uniqueClusterName('nobody');
    const token = await signRaw({ iss: unknown, sub: `cluster:${unknown}`, aud: b, kind: 'cluster', iat: nowSeconds(), exp: nowSeconds() + 60 }, stray.privateKey);
    expect(await reasonOf(onB, token)).toBe('unknown issuer');
  });

  it("a token naming cluster A as issuer but signed with another key is refused (forged iss)", async () => {
    const claims = {
      iss: a,
      sub: 'job:job-9',
      kind: 'job',
      jobId: 'job-9',
      buildId: 'build-1',
      projectId: 'project-1',
      parents: ['anything'],
      iat: nowSeconds(),
      exp: nowSeconds() + 60,
    };
    // Signed by a key nobody knows…
    expect(await reasonOf(onB, await signRaw(claims, (await strayKey()).privateKey))).toBe('bad signature');
    // …and by a real cluster (B) pretending to be A: B's key is not A's.
    const bKey = await signingKeyOf(dbB, b);
    expect(await reasonOf(onA, await signRaw(claims, bKey))).toBe('bad signature');
    expect(await reasonOf(tokenServiceFor(dbB, uniqueClusterName('c')), await signRaw(claims, bKey))).toBe('bad signature');
  });

  it('a cluster cannot mint a cluster token in the name of another cluster', async () => {
    const bKey = await signingKeyOf(dbB, b);
    // Signed correctly by B, but claiming to be A in the subject.
    const token = await signRaw({ iss: b, sub: `cluster:${a}`, aud: a, kind: 'cluster', iat: nowSeconds(), exp: nowSeconds() + 60 }, bKey);
    expect(await reasonOf(onA, token)).toBe('subject does not match the issuer');
  });
});
