import { decodeJwt, decodeProtectedHeader } from 'jose';
import { Database } from '@infrabox/database';
import { MASTER_CLUSTER } from '@infrabox/config';
import { nowSeconds, placedJob, registeredCluster, signingKeyOf, signRaw, strayKey, tokenServiceFor } from '../../../test/support/auth';
import { openDatabase } from '../../../test/support/database';
import { InvalidTokenError, JobTokenSubject } from './principal.types';
import { TokenService } from './token.service';

describe('TokenService (real PostgreSQL)', () => {
  let db: Database;
  let cluster: string;
  let tokens: TokenService;
  let subject: JobTokenSubject;
  let parentIds: string[];

  beforeAll(async () => {
    db = openDatabase();
    // The master: it issues every kind (admin and project tokens only it does).
    cluster = MASTER_CLUSTER;
    tokens = tokenServiceFor(db, cluster);
    await tokens.onModuleInit();
    parentIds = [(await placedJob(db, cluster)).id, (await placedJob(db, cluster)).id].sort();
    subject = await placedJob(db, cluster, parentIds);
  });
  afterAll(() => db.close());

  const reasonOf = async (token: string, verifier = tokens): Promise<string> => {
    const error = await verifier.verify(token).then(
      () => null,
      (e: unknown) => e,
    );
    if (!(error instanceof InvalidTokenError)) throw new Error(`expected an InvalidTokenError, got ${String(error)}`);
    expect(error.message).toBe(error.reason);
    return error.reason;
  };
  const privateKey = () => signingKeyOf(db, cluster);

  it('a job token carries the job, its build, project and direct parents, signed EdDSA by this cluster', async () => {
    const before = nowSeconds();
    const token = await tokens.issueJobToken(subject, 600);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toEqual({
      kind: 'job',
      jobId: subject.id,
      buildId: subject.buildId,
      projectId: subject.projectId,
      parents: parentIds,
      iss: cluster,
      sub: `job:${subject.id}`,
      iat: expect.any(Number),
      nbf: claims.iat,
      exp: claims.iat! + 600,
    });
    expect(claims.iat).toBeGreaterThanOrEqual(before);
    const principal = await tokens.verify(token);
    expect(principal.kind === 'job' && { ...principal, parents: [...principal.parents].sort() }).toEqual({
      kind: 'job',
      jobId: subject.id,
      buildId: subject.buildId,
      projectId: subject.projectId,
      parents: parentIds,
      issuer: cluster,
    });
  });

  it('a cluster token names this cluster as subject and the peer as audience, 5 minutes by default', async () => {
    const claims = decodeJwt(await tokens.issueClusterToken('peer-1'));
    expect(claims).toMatchObject({ kind: 'cluster', iss: cluster, sub: `cluster:${cluster}`, aud: 'peer-1' });
    expect(claims.exp! - claims.iat!).toBe(300);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'kind', 'nbf', 'sub']);
  });

  it('a project token carries the project; 30 days unless told otherwise', async () => {
    const token = await tokens.issueProjectToken('p-id', 'demo');
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ kind: 'project', projectId: 'p-id', projectName: 'demo', sub: 'project:p-id', iss: cluster });
    expect(claims.exp! - claims.iat!).toBe(30 * 24 * 3600);
    expect(decodeJwt(await tokens.issueProjectToken('p-id', 'demo', 60)).exp! - claims.iat!).toBeLessThanOrEqual(61);
    expect(await tokens.verify(token)).toEqual({ kind: 'project', projectId: 'p-id', projectName: 'demo' });
  });

  it('an admin token names no project and is signed by this cluster; forged subjects are refused', async () => {
    const token = await tokens.issueAdminToken(600);
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ kind: 'admin', sub: `admin:${cluster}`, iss: cluster });
    expect(claims.exp! - claims.iat!).toBe(600);
    expect(await tokens.verify(token)).toEqual({ kind: 'admin', issuer: cluster });
    await expect(tokens.issueAdminToken(0)).rejects.toThrow(RangeError);
    const times = { iat: nowSeconds(), exp: nowSeconds() + 60 };
    const key = await privateKey();
    expect(await reasonOf(await signRaw({ iss: cluster, sub: 'admin:worker', kind: 'admin', ...times }, key))).toBe('subject does not match the issuer');
    // An admin token signed by any key but its issuer's is refused.
    expect(await reasonOf(await signRaw({ iss: cluster, sub: `admin:${cluster}`, kind: 'admin', ...times }, (await strayKey()).privateKey))).toBe('bad signature');
  });

  it('refuses to issue with a lifetime that is not a positive whole number, or empty names', async () => {
    for (const ttl of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(tokens.issueClusterToken('peer', ttl)).rejects.toThrow(RangeError);
    }
    await expect(tokens.issueClusterToken('')).rejects.toThrow(TypeError);
    await expect(tokens.issueJobToken({ id: 'j', buildId: '', projectId: 'p', parentIds: [] }, 60)).rejects.toThrow(/buildId/);
    await expect(tokens.issueJobToken({ id: 'j', buildId: 'b', projectId: 'p', parentIds: [''] }, 60)).rejects.toThrow(/parentIds\[0\]/);
    await expect(tokens.issueProjectToken('p', '')).rejects.toThrow(/projectName/);
  });

  it('answers short reasons for tokens that are not JWTs', async () => {
    expect(await reasonOf('')).toBe('missing token');
    expect(await reasonOf('garbage')).toBe('malformed token');
    expect(await reasonOf('a.b.c')).toBe('malformed token');
    expect(await reasonOf('x'.repeat(20_000))).toBe('token too long');
  });

  it('accepts only EdDSA: unsigned tokens and HMAC tokens are refused before any key lookup', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: cluster, sub: 'job:x', kind: 'job' })).toString('base64url');
    expect(await reasonOf(`${header}.${body}.`)).toBe('unsupported algorithm');
    const hmac = await signRaw({ iss: cluster, sub: 'job:x', kind: 'job', iat: nowSeconds(), exp: nowSeconds() + 60 }, new Uint8Array(32), 'HS256');
    expect(await reasonOf(hmac)).toBe('unsupported algorithm');
  });

  it('requires iss, sub, iat and exp', async () => {
    const key = await privateKey();
    const full = { iss: cluster, sub: 'project:p', kind: 'project', projectId: 'p', projectName: 'n', iat: nowSeconds(), exp: nowSeconds() + 60 };
    expect(await tokens.verify(await signRaw(full, key))).toMatchObject({ kind: 'project' });
    const { iss: _iss, ...noIssuer } = full;
    expect(await reasonOf(await signRaw(noIssuer, key))).toBe('missing issuer');
    const { exp: _exp, ...noExpiry } = full;
    expect(await reasonOf(await signRaw(noExpiry, key))).toBe('exp claim missing');
    const { sub: _sub, ...noSubject } = full;
    expect(await reasonOf(await signRaw(noSubject, key))).toBe('sub claim missing');
    expect(await reasonOf(await signRaw({ ...full, nbf: nowSeconds() + 3600 }, key))).toBe('token not yet valid');
  });

  it('refuses claims that do not fit their kind, even when signed by the right key', async () => {
    const key = await privateKey();
    const times = { iat: nowSeconds(), exp: nowSeconds() + 60 };
    const job = { iss: cluster, sub: `job:${subject.id}`, kind: 'job', jobId: subject.id, buildId: subject.buildId, projectId: subject.projectId, parents: [], ...times };
    expect(await tokens.verify(await signRaw(job, key))).toMatchObject({ kind: 'job', jobId: subject.id });
    expect(await reasonOf(await signRaw({ ...job, sub: 'job:other' }, key))).toBe('subject does not match the job');
    expect(await reasonOf(await signRaw({ ...job, parents: 'p0' }, key))).toBe('malformed job claims');
    expect(await reasonOf(await signRaw({ ...job, parents: [1] }, key))).toBe('malformed job claims');
    expect(await reasonOf(await signRaw({ ...job, buildId: undefined }, key))).toBe('malformed job claims');
    expect(await reasonOf(await signRaw({ ...job, kind: 'superuser' }, key))).toBe('unknown token kind');
    // A job token relabelled as an admin token keeps its job subject: refused.
    expect(await reasonOf(await signRaw({ ...job, kind: 'admin' }, key))).toBe('subject does not match the issuer');
    expect(await reasonOf(await signRaw({ ...job, kind: undefined }, key))).toBe('unknown token kind');

    // A cluster speaks only for itself: the subject must be the issuer (registered and active).
    await registeredCluster(db, cluster);
    const peer = { iss: cluster, sub: `cluster:${cluster}`, kind: 'cluster', aud: cluster, ...times };
    expect(await tokens.verify(await signRaw(peer, key))).toEqual({ kind: 'cluster', cluster });
    expect(await tokens.verify(await signRaw({ ...peer, aud: ['x', cluster] }, key))).toEqual({ kind: 'cluster', cluster });
    expect(await reasonOf(await signRaw({ ...peer, sub: 'cluster:worker' }, key))).toBe('subject does not match the issuer');
    expect(await reasonOf(await signRaw({ ...peer, aud: undefined }, key))).toBe('wrong audience');

    const project = { iss: cluster, sub: 'project:p', kind: 'project', projectId: 'p', projectName: 'n', ...times };
    expect(await reasonOf(await signRaw({ ...project, sub: 'project:q' }, key))).toBe('subject does not match the project');
    expect(await reasonOf(await signRaw({ ...project, projectName: 7 }, key))).toBe('malformed project claims');
  });

  it('a token signed by a key that is not its issuer’s is refused, whatever it claims', async () => {
    const stray = await strayKey();
    const forged = await signRaw(
      { iss: cluster, sub: 'job:j', kind: 'job', jobId: 'j', buildId: 'b', projectId: 'p', parents: [], iat: nowSeconds(), exp: nowSeconds() + 60 },
      stray.privateKey,
    );
    expect(await reasonOf(forged)).toBe('bad signature');
  });

  it('honours the clock tolerance on expiry, and no further', async () => {
    let now = Date.now();
    const clocked = tokenServiceFor(db, cluster, { now: () => now, clockToleranceSeconds: 30 });
    const token = await clocked.issueJobToken(subject, 60);
    const issuedAt = decodeJwt(token).iat! * 1000;
    now = issuedAt + 89_000; // 60 s lifetime + 29 s of clock difference
    expect(await clocked.verify(token)).toMatchObject({ jobId: subject.id });
    now = issuedAt + 90_000;
    expect(await reasonOf(token, clocked)).toBe('token expired');
  });
});
