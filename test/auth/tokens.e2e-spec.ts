import { exportJWK } from 'jose';
import { ClusterKeyService, InvalidTokenError, JobTokenSubject, KeyRepository, NotTheIssuerError, TokenFactsRepository, TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { currentClusterOf, MASTER_CLUSTER } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { nowSeconds, placedJob, registeredCluster, signingKeyOf, signRaw, strayKey, tokenServiceFor } from '../support/auth';
import { clusterConfig, uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

/** Clusters A and B as two separate installations sharing the database, each with its own connections. */
describe('tokens across clusters (real PostgreSQL)', () => {
  let dbA: Database;
  let dbB: Database;
  let a: string;
  let b: string;
  let onA: TokenService;
  let onB: TokenService;
  let onMaster: TokenService;
  let job: JobTokenSubject;
  let parents: JobTokenSubject[];

  beforeAll(async () => {
    dbA = openDatabase();
    dbB = openDatabase();
    [a, b] = [uniqueClusterName('a'), uniqueClusterName('b')];
    // Both registered before their apps start, as the registry does: the keys get published.
    for (const name of [a, b]) await new ClusterRepository(dbA).register({ name, labels: [], apiUrl: 'http://127.0.0.1:1' });
    onA = tokenServiceFor(dbA, a);
    onB = tokenServiceFor(dbB, b);
    onMaster = tokenServiceFor(dbB, MASTER_CLUSTER);
    await Promise.all([onA.onModuleInit(), onB.onModuleInit()]);
    parents = [await placedJob(dbA, a), await placedJob(dbA, a)];
    job = await placedJob(dbA, a, parents.map((p) => p.id));
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

  it('each kind round trips on its own cluster (admin and project tokens on the master)', async () => {
    expect(await onA.verify(await onA.issueJobToken(job, 60))).toEqual({
      kind: 'job',
      jobId: job.id,
      buildId: job.buildId,
      projectId: job.projectId,
      parents: expect.arrayContaining(parents.map((p) => p.id)),
      issuer: a,
    });
    expect(await onA.verify(await onA.issueClusterToken(a))).toEqual({ kind: 'cluster', cluster: a });
    expect(await onMaster.verify(await onMaster.issueProjectToken('project-1', 'demo'))).toEqual({
      kind: 'project',
      projectId: 'project-1',
      projectName: 'demo',
    });
    expect(await onMaster.verify(await onMaster.issueAdminToken(60))).toEqual({ kind: 'admin', issuer: MASTER_CLUSTER });
  });

  it("a token signed by cluster A verifies on cluster B, which reads A's pinned public key from the database", async () => {
    expect(await onB.verify(await onA.issueClusterToken(b))).toEqual({ kind: 'cluster', cluster: a });
    expect(await onB.verify(await onA.issueJobToken(job, 60))).toMatchObject({ kind: 'job', jobId: job.id, issuer: a });
    expect(await onB.verify(await onMaster.issueProjectToken('project-1', 'demo'))).toMatchObject({ kind: 'project' });
    // And the other way round.
    expect(await onA.verify(await onB.issueClusterToken(a))).toEqual({ kind: 'cluster', cluster: b });
  });

  it('admin and project tokens are issued by the master only: a worker neither mints nor gets one accepted', async () => {
    await expect(onA.issueAdminToken(60)).rejects.toThrow(NotTheIssuerError);
    await expect(onA.issueProjectToken('project-1', 'demo')).rejects.toThrow(/project tokens are issued by the master cluster only, not by cluster/);
    // A worker signing one itself (it holds its own key): refused on the master and on its peers.
    const aKey = await signingKeyOf(dbA, a);
    const admin = await signRaw({ iss: a, sub: `admin:${a}`, kind: 'admin', iat: nowSeconds(), exp: nowSeconds() + 60 }, aKey);
    const project = await signRaw({ iss: a, sub: 'project:p', kind: 'project', projectId: 'p', projectName: 'demo', iat: nowSeconds(), exp: nowSeconds() + 60 }, aKey);
    for (const verifier of [onMaster, onB]) {
      expect(await reasonOf(verifier, admin)).toBe(`admin tokens are issued by the master only, not by ${a}`);
      expect(await reasonOf(verifier, project)).toBe(`project tokens are issued by the master only, not by ${a}`);
    }
  });

  it('a job token counts only from the cluster the job is placed on, with the parents the database gives', async () => {
    const aKey = await signingKeyOf(dbA, a);
    const claims = { kind: 'job', jobId: job.id, buildId: job.buildId, projectId: job.projectId, iat: nowSeconds(), exp: nowSeconds() + 60 };
    // A signs its own job's token with parents it made up: the principal has the real ones.
    const widened = await signRaw({ ...claims, iss: a, sub: `job:${job.id}`, parents: ['00000000-0000-4000-8000-000000000000'] }, aKey);
    const principal = await onB.verify(widened);
    expect(principal).toMatchObject({ kind: 'job', jobId: job.id });
    expect(principal.kind === 'job' && [...principal.parents].sort()).toEqual(parents.map((p) => p.id).sort());
    // B signs a token for A's job: refused.
    const bKey = await signingKeyOf(dbB, b);
    const fromB = await signRaw({ ...claims, iss: b, sub: `job:${job.id}`, parents: [] }, bKey);
    expect(await reasonOf(onA, fromB)).toBe(`job ${job.id} is not placed on the issuer ${b}`);
    // Claims of another build or project, or a job that does not exist: refused.
    expect(await reasonOf(onB, await signRaw({ ...claims, iss: a, sub: `job:${job.id}`, parents: [], projectId: parents[0].projectId }, aKey))).toBe(
      'job claims do not match the job',
    );
    const missing = '00000000-0000-4000-8000-00000000abcd';
    expect(await reasonOf(onB, await signRaw({ ...claims, iss: a, sub: `job:${missing}`, jobId: missing, parents: [] }, aKey))).toBe('unknown job');
  });

  it('a job token dies when its job ends', async () => {
    const ending = await placedJob(dbA, a);
    const token = await onA.issueJobToken(ending, 600);
    expect(await onB.verify(token)).toMatchObject({ kind: 'job', jobId: ending.id });
    await dbA.query(`UPDATE job SET state = 'finished', finished_at = now() WHERE id = $1`, [ending.id]);
    expect(await reasonOf(onB, token)).toBe(`job ${ending.id} has ended`);
    expect(await reasonOf(onA, token)).toBe(`job ${ending.id} has ended`);
  });

  it("a disabled or lost cluster's tokens are refused, and accepted again once it is back", async () => {
    const c = await registeredCluster(dbA, uniqueClusterName('c'));
    const onC = tokenServiceFor(dbA, c);
    const token = await onC.issueClusterToken(b, 600);
    expect(await onB.verify(token)).toEqual({ kind: 'cluster', cluster: c });
    await dbA.query('UPDATE cluster SET enabled = false WHERE name = $1', [c]);
    expect(await reasonOf(onB, token)).toBe(`cluster ${c} is disabled`);
    await dbA.query('UPDATE cluster SET enabled = true, active = false WHERE name = $1', [c]);
    expect(await reasonOf(onB, token)).toBe(`cluster ${c} is lost (no heartbeat)`);
    await dbA.query('UPDATE cluster SET active = true WHERE name = $1', [c]);
    expect(await onB.verify(token)).toEqual({ kind: 'cluster', cluster: c });
    const unregistered = uniqueClusterName('c');
    expect(await reasonOf(onB, await tokenServiceFor(dbA, unregistered).issueClusterToken(b))).toBe(`cluster ${unregistered} is not registered`);
  });

  it('forged tokens of made-up issuers cost no query each: 300 at once read the keys at most twice', async () => {
    let queries = 0;
    const counting = Object.assign(Object.create(dbB) as Database, {
      query: (...args: Parameters<Database['query']>) => {
        queries++;
        return dbB.query(...args);
      },
    });
    const config = clusterConfig(b);
    const verifier = new TokenService(currentClusterOf(config), new ClusterKeyService(config, currentClusterOf(config), new KeyRepository(counting)), new TokenFactsRepository(counting), null);
    await verifier.onModuleInit();
    const stray = (await strayKey()).privateKey;
    const forged = await Promise.all(
      Array.from({ length: 300 }, (_, i) => signRaw({ iss: `forged-${i}`, sub: `admin:forged-${i}`, kind: 'admin', iat: nowSeconds(), exp: nowSeconds() + 60 }, stray)),
    );
    queries = 0;
    const started = Date.now();
    const reasons = await Promise.all(forged.map((token) => reasonOf(verifier, token)));
    expect(new Set(reasons)).toEqual(new Set(['unknown issuer']));
    // One read of every key, then one more a second later that every waiting request shares
    // (and one per further second the run took).
    expect(queries).toBeGreaterThanOrEqual(1);
    expect(queries).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - started) / 1000));
  });

  it('a rotated key is picked up after the cache time; tokens of the old key are refused from then on', async () => {
    const c = await registeredCluster(dbA, uniqueClusterName('c'));
    const old = await tokenServiceFor(dbA, c).issueClusterToken(b, 3600);
    let now = Date.now();
    const verifier = tokenServiceFor(dbB, b, { now: () => now, publicKeyCacheMs: 60_000 });
    expect(await verifier.verify(old)).toEqual({ kind: 'cluster', cluster: c });
    const replacement = await strayKey();
    await new KeyRepository(dbA).rotate(c, await exportJWK(replacement.publicKey));
    const rotated = await signRaw({ iss: c, sub: `cluster:${c}`, aud: b, kind: 'cluster', iat: nowSeconds(), exp: nowSeconds() + 600 }, replacement.privateKey);
    now += 59_000;
    expect(await verifier.verify(old)).toEqual({ kind: 'cluster', cluster: c }); // cached
    now += 2_000;
    expect(await reasonOf(verifier, old)).toBe('bad signature'); // read again
    expect(await verifier.verify(rotated)).toEqual({ kind: 'cluster', cluster: c });
  });

  it('a cluster token for another audience is refused', async () => {
    const forB = await onA.issueClusterToken(b);
    expect(await reasonOf(onA, forB)).toBe('wrong audience'); // A itself is not the audience
    const third = tokenServiceFor(dbB, await registeredCluster(dbB, uniqueClusterName('c')));
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
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), exp: nowSeconds() + 3600 * 24 }),
    ).toString('base64url');
    expect(await reasonOf(onB, `${header}.${widened}.${signature}`)).toBe('bad signature');

    const otherSignature = (await onA.issueJobToken(parents[0], 600)).split('.')[2];
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
      sub: `job:${job.id}`,
      kind: 'job',
      jobId: job.id,
      buildId: job.buildId,
      projectId: job.projectId,
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
