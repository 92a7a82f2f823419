import { Controller, Get, INestApplication, Param } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { assertJobMayReadOutputOf, Authenticated, CurrentPrincipal, JobTokenSubject, Principal, TokenService } from '@infrabox/auth';
import { MASTER_CLUSTER } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { ProjectRepository } from '@infrabox/jobs';
import { ApiModule } from '../../apps/api/src/api.module';
import { placedJob, registeredCluster, tokenServiceFor } from '../support/auth';
import { clusterConfig, uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

/** Routes that exist only in this test: one for job tokens only, one that checks output scope. */
@Controller('test/auth')
class JobOnlyController {
  @Get('job-only')
  @Authenticated('job')
  jobOnly(@CurrentPrincipal() principal: Principal): { jobId: string } {
    return { jobId: principal.kind === 'job' ? principal.jobId : '' };
  }

  @Get('outputs/:jobId')
  @Authenticated('job')
  output(@CurrentPrincipal() principal: Principal, @Param('jobId') jobId: string): { readable: string } {
    assertJobMayReadOutputOf(principal, jobId);
    return { readable: jobId };
  }
}

describe('api: authentication over HTTP (real PostgreSQL, real HTTP)', () => {
  let db: Database;
  let app: INestApplication;
  let baseUrl: string;
  let cluster: string;
  let tokens: TokenService;
  let peer: string;
  let peerTokens: TokenService;
  let job: JobTokenSubject;
  let parent: JobTokenSubject;
  let grandparent: JobTokenSubject;

  beforeAll(async () => {
    db = openDatabase();
    // The master: it issues admin and project tokens.
    cluster = MASTER_CLUSTER;
    peer = await registeredCluster(db, uniqueClusterName('peer'));
    grandparent = await placedJob(db, cluster);
    parent = await placedJob(db, cluster, [grandparent.id]);
    job = await placedJob(db, cluster, [parent.id]);
    const module = await Test.createTestingModule({ imports: [ApiModule.forConfig(clusterConfig(cluster))], controllers: [JobOnlyController] }).compile();
    app = module.createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    tokens = app.get(TokenService);
    peerTokens = tokenServiceFor(db, peer);
  });
  afterAll(async () => {
    await app.close();
    await db.close();
  });

  const call = async (method: 'GET' | 'POST', path: string, options: { token?: string; authorization?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.authorization !== undefined) headers.authorization = options.authorization;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    return { status: response.status, body: (await response.json()) as unknown, authenticate: response.headers.get('www-authenticate') };
  };

  it('whoami without a token answers 401', async () => {
    expect(await call('GET', '/api/v1/auth/whoami')).toEqual({
      status: 401,
      body: { statusCode: 401, message: 'missing bearer token' },
      authenticate: 'Bearer realm="infrabox"',
    });
  });

  it('whoami with garbage, a malformed header or a bad signature answers 401 with the reason', async () => {
    expect(await call('GET', '/api/v1/auth/whoami', { token: 'garbage' })).toMatchObject({
      status: 401,
      body: { statusCode: 401, message: 'invalid token: malformed token' },
    });
    const valid = await tokens.issueJobToken(job, 60);
    expect(await call('GET', '/api/v1/auth/whoami', { authorization: `Basic ${valid}` })).toMatchObject({
      status: 401,
      body: { statusCode: 401, message: 'malformed Authorization header (expected "Bearer <token>")' },
    });
    expect(await call('GET', '/api/v1/auth/whoami', { authorization: 'Bearer' })).toMatchObject({ status: 401 });
    const [header, payload] = valid.split('.');
    const foreign = (await tokens.issueJobToken(parent, 60)).split('.')[2];
    expect(await call('GET', '/api/v1/auth/whoami', { token: `${header}.${payload}.${foreign}` })).toMatchObject({
      status: 401,
      body: { statusCode: 401, message: 'invalid token: bad signature' },
    });
  });

  it('whoami with a valid job token answers 200 with the principal', async () => {
    expect(await call('GET', '/api/v1/auth/whoami', { token: await tokens.issueJobToken(job, 60) })).toEqual({
      status: 200,
      body: { kind: 'job', jobId: job.id, buildId: job.buildId, projectId: job.projectId, parents: [parent.id], issuer: cluster },
      authenticate: null,
    });
    // Accepted case-insensitively as to the scheme.
    expect(await call('GET', '/api/v1/auth/whoami', { authorization: `bearer ${await tokens.issueJobToken(job, 60)}` })).toMatchObject({ status: 200 });
  });

  it("whoami with a peer's cluster token for this cluster answers the peer; for another cluster, 401", async () => {
    expect(await call('GET', '/api/v1/auth/whoami', { token: await peerTokens.issueClusterToken(cluster) })).toMatchObject({
      status: 200,
      body: { kind: 'cluster', cluster: peer },
    });
    expect(await call('GET', '/api/v1/auth/whoami', { token: await peerTokens.issueClusterToken(uniqueClusterName('else')) })).toMatchObject({
      status: 401,
      body: { statusCode: 401, message: 'invalid token: wrong audience' },
    });
  });

  it('an expired token answers 401', async () => {
    const earlier = tokenServiceFor(db, cluster, { now: () => Date.now() - 3_600_000 });
    expect(await call('GET', '/api/v1/auth/whoami', { token: await earlier.issueJobToken(job, 60) })).toMatchObject({
      status: 401,
      body: { statusCode: 401, message: 'invalid token: token expired' },
    });
  });

  it('a cluster or project token on a job-only route answers 403; a job token passes', async () => {
    expect(await call('GET', '/test/auth/job-only', { token: await peerTokens.issueClusterToken(cluster) })).toEqual({
      status: 403,
      body: { statusCode: 403, message: 'a cluster token may not call this route' },
      authenticate: null,
    });
    expect(await call('GET', '/test/auth/job-only', { token: await tokens.issueProjectToken('p', 'demo') })).toMatchObject({ status: 403 });
    expect(await call('GET', '/test/auth/job-only', { token: await tokens.issueJobToken(job, 60) })).toMatchObject({
      status: 200,
      body: { jobId: job.id },
    });
    expect(await call('GET', '/test/auth/job-only')).toMatchObject({ status: 401 });
  });

  it('accepts the token as ?token= (download links); the header wins when both are given', async () => {
    const token = await tokens.issueJobToken(job, 60);
    expect(await call('GET', `/api/v1/auth/whoami?token=${encodeURIComponent(token)}`)).toMatchObject({
      status: 200,
      body: { kind: 'job', jobId: job.id },
    });
    expect(await call('GET', `/api/v1/auth/whoami?token=${token}`, { token: 'garbage' })).toMatchObject({ status: 401 });
    expect(await call('GET', `/api/v1/auth/whoami?token=${token}&token=${token}`)).toMatchObject({
      status: 401,
      body: { message: 'malformed token query parameter (give it once)' },
    });
    expect(await call('GET', '/api/v1/auth/whoami?token=')).toMatchObject({ status: 401, body: { message: 'missing bearer token' } });
  });

  it('a job reads the outputs of its direct parents only (403 otherwise)', async () => {
    const token = await tokens.issueJobToken(job, 60);
    expect(await call('GET', `/test/auth/outputs/${parent.id}`, { token })).toMatchObject({ status: 200, body: { readable: parent.id } });
    expect(await call('GET', `/test/auth/outputs/${job.id}`, { token })).toMatchObject({ status: 200 });
    expect(await call('GET', `/test/auth/outputs/${grandparent.id}`, { token })).toEqual({
      status: 403,
      body: { statusCode: 403, message: `job ${job.id} may read outputs of its direct parents only` },
      authenticate: null,
    });
  });

  it('POST /api/v1/admin/projects/:name/tokens creates the project if needed and answers a project token', async () => {
    const name = `auth-${uniqueClusterName('p')}`;
    const admin = await tokens.issueAdminToken(60);
    const first = await call('POST', `/api/v1/admin/projects/${name}/tokens`, { token: admin });
    expect(first).toMatchObject({ status: 201, body: { token: expect.any(String) } });
    const project = await new ProjectRepository(db).findByName(name);
    expect(project).not.toBeNull();
    const token = (first.body as { token: string }).token;
    expect(await call('GET', '/api/v1/auth/whoami', { token })).toMatchObject({
      status: 200,
      body: { kind: 'project', projectId: project!.id, projectName: name },
    });
    expect(Object.keys((await call('GET', '/api/v1/auth/whoami', { token })).body as object).sort()).toEqual(['kind', 'projectId', 'projectName']);

    // Again: the same project, a new token; a lifetime may be asked for.
    const second = await call('POST', `/api/v1/admin/projects/${name}/tokens`, { token: admin, body: { ttlSeconds: 120 } });
    const claims = JSON.parse(Buffer.from((second.body as { token: string }).token.split('.')[1], 'base64url').toString()) as Record<string, number>;
    expect(claims).toMatchObject({ projectId: project!.id, iss: cluster });
    expect(claims.exp - claims.iat).toBe(120);
    // A project token is no job token.
    expect(await call('GET', '/test/auth/job-only', { token })).toMatchObject({ status: 403 });
  });

  it('POST /api/v1/admin/projects/:name/tokens refuses bad names and lifetimes', async () => {
    const token = await tokens.issueAdminToken(60);
    expect(await call('POST', '/api/v1/admin/projects/-bad/tokens', { token })).toMatchObject({ status: 400 });
    expect(await call('POST', '/api/v1/admin/projects/fine/tokens', { token, body: { ttlSeconds: -1 } })).toMatchObject({
      status: 400,
      body: { message: 'ttlSeconds: expected a whole number of seconds from 1 to 315360000 (10 years)' },
    });
    expect(await call('POST', '/api/v1/admin/projects/fine/tokens', { token, body: { ttlSeconds: '60' } })).toMatchObject({ status: 400 });
    // Found by the bad-input sweep: each of these issued a token.
    expect(await call('POST', '/api/v1/admin/projects/fine/tokens', { token, body: { ttlSeconds: 1e300 } })).toMatchObject({ status: 400 });
    expect(await call('POST', '/api/v1/admin/projects/fine/tokens', { token, body: { ttl: 60 } })).toMatchObject({
      status: 400,
      body: { message: '"ttl": unknown field (expected ttlSeconds)' },
    });
    expect(await call('POST', '/api/v1/admin/projects/fine/tokens', { token, body: [] })).toMatchObject({
      status: 400,
      body: { message: 'request body: expected a JSON object, got an array' },
    });
    const form = await fetch(`${baseUrl}/api/v1/admin/projects/fine/tokens`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` }, body: 'ttlSeconds=5' });
    expect(form.status).toBe(415);
    expect(await form.json()).toMatchObject({ message: 'content-type: expected application/json, got "text/plain"' });
  });

  // Found by the bad-input sweep: a NUL in the project name reached PostgreSQL (500).
  it('PUT /api/v1/projects/:project/source refuses a name that is no project name (400)', async () => {
    const token = await tokens.issueProjectToken('project-1', 'fine');
    const response = await fetch(`${baseUrl}/api/v1/projects/a%00b/source`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-tar', authorization: `Bearer ${token}` },
      body: Buffer.alloc(1024),
    });
    expect(response.status).toBe(400);
    // The name is shown, its control characters as '?'.
    expect(await response.json()).toMatchObject({ message: "project: 'a?b' is not a valid name (letters, digits, _ . -, at most 100)" });
  });

  // Found by the bad-input sweep too: creating a build looked the project up (and PostgreSQL refused the NUL) before checking its name.
  it('POST /api/v1/projects/:project/builds refuses a name that is no project name (400)', async () => {
    const response = await fetch(`${baseUrl}/api/v1/projects/a%00b/builds`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await tokens.issueAdminToken(60)}` },
      body: JSON.stringify({ definition: { version: 1, jobs: [] } }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: "project: 'a?b' is not a valid name (letters, digits, _ . -, at most 100)" });
  });
});
