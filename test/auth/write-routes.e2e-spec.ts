import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { ProjectRepository, type BuildDto } from '@infrabox/jobs';
import { ApiModule } from '../../apps/api/src/api.module';
import { masterAdminToken, nowSeconds, placedJob, registeredCluster, signingKeyOf, signRaw, tokenServiceFor } from '../support/auth';
import { MASTER_CLUSTER } from '@infrabox/config';
import { clusterConfig, uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

/**
 * Who may call the write routes that are not data endpoints: an admin token mints project tokens
 * and enables/disables clusters; a token of the project (or an admin token) creates its builds
 * and aborts its jobs. Reads stay open.
 */
describe('api: write routes need the right token (real PostgreSQL, real HTTP)', () => {
  let db: Database;
  let app: INestApplication;
  let baseUrl: string;
  let cluster: string;
  let tokens: TokenService;
  let admin: string;
  let peerAdmin: string;
  let ours: string;
  let theirs: string;
  let jobToken: string;
  const project = `wr-${uniqueClusterName('p')}`;
  const other = `wr-${uniqueClusterName('o')}`;
  const definition = { version: 1, jobs: [{ name: 'only', type: 'docker-image', image: 'alpine', command: ['true'] }] };

  beforeAll(async () => {
    db = openDatabase();
    cluster = uniqueClusterName('wr');
    app = await NestFactory.create(ApiModule.forConfig(clusterConfig(cluster)), { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    tokens = app.get(TokenService);
    await registeredCluster(db, cluster);
    // This api is a worker's: admin and project tokens come from the master.
    admin = await masterAdminToken();
    // An admin token a worker signed itself (it holds its own key): refused.
    peerAdmin = await signRaw({ iss: cluster, sub: `admin:${cluster}`, kind: 'admin', iat: nowSeconds(), exp: nowSeconds() + 600 }, await signingKeyOf(db, cluster));
    const projects = new ProjectRepository(db);
    const [mine, yours] = [await projects.findOrCreate(project), await projects.findOrCreate(other)];
    const master = tokenServiceFor(db, MASTER_CLUSTER);
    ours = await master.issueProjectToken(mine.id, mine.name, 600);
    theirs = await master.issueProjectToken(yours.id, yours.name, 600);
    jobToken = await tokens.issueJobToken(await placedJob(db, cluster), 600);
  });
  afterAll(async () => {
    await app.close();
    await db.close();
  });

  const call = async (method: 'GET' | 'POST', path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as unknown };
  };
  const createBuild = (name: string, token?: string) => call('POST', `/api/v1/projects/${name}/builds`, token, { definition });
  const missing = { status: 401, body: { statusCode: 401, message: 'missing bearer token' } };
  const wrongKind = (kind: string) => ({ status: 403, body: { statusCode: 403, message: `a ${kind} token may not call this route` } });

  it('POST /api/v1/admin/projects/:name/tokens on a worker: 401 without a token, 403 for project and job tokens, 403 for an admin (the master issues them)', async () => {
    const name = `wr-${uniqueClusterName('new')}`;
    const path = `/api/v1/admin/projects/${name}/tokens`;
    expect(await call('POST', path)).toEqual(missing);
    expect(await call('POST', path, 'garbage')).toMatchObject({ status: 401, body: { message: 'invalid token: malformed token' } });
    expect(await call('POST', path, ours)).toEqual(wrongKind('project'));
    expect(await call('POST', path, jobToken)).toEqual(wrongKind('job'));
    expect(await call('POST', path, await tokens.issueClusterToken(cluster))).toEqual(wrongKind('cluster'));
    // Nothing was created by the refused calls.
    expect(await new ProjectRepository(db).findByName(name)).toBeNull();

    expect(await call('POST', path, admin)).toEqual({
      status: 403,
      body: { statusCode: 403, message: `project tokens are issued by the master cluster only, not by cluster '${cluster}': ask the master's api` },
    });
    expect(await new ProjectRepository(db).findByName(name)).toBeNull();
    expect(await call('POST', path, peerAdmin)).toEqual({ status: 401, body: { statusCode: 401, message: `invalid token: admin tokens are issued by the master only, not by ${cluster}` } });
    expect(await call('GET', '/api/v1/auth/whoami', admin)).toEqual({ status: 200, body: { kind: 'admin', issuer: MASTER_CLUSTER } });
  });

  it('POST /api/v1/admin/clusters/:name/disable and /enable: 401 without a token, 403 for a project token, 200 for an admin', async () => {
    const name = uniqueClusterName('w');
    const clusters = new ClusterRepository(db);
    await clusters.register({ name, labels: [], apiUrl: 'http://10.1.0.9:8080' });
    for (const action of ['disable', 'enable']) {
      const path = `/api/v1/admin/clusters/${name}/${action}`;
      expect(await call('POST', path)).toEqual(missing);
      expect(await call('POST', path, ours)).toEqual(wrongKind('project'));
      expect(await call('POST', path, jobToken)).toEqual(wrongKind('job'));
    }
    expect((await clusters.findByName(name))!.enabled).toBe(true);
    expect(await call('POST', `/api/v1/admin/clusters/${name}/disable`, admin)).toMatchObject({ status: 200, body: { name, enabled: false } });
    expect((await clusters.findByName(name))!.enabled).toBe(false);
    expect(await call('POST', `/api/v1/admin/clusters/${name}/enable`, peerAdmin)).toMatchObject({ status: 401 });
    expect((await clusters.findByName(name))!.enabled).toBe(false);
    expect(await call('POST', `/api/v1/admin/clusters/${name}/enable`, admin)).toMatchObject({ status: 200, body: { name, enabled: true } });
  });

  it('POST /api/v1/projects/:project/builds: 401 without a token, 403 for another project or a job token, 201 for its project or an admin', async () => {
    expect(await createBuild(project)).toEqual(missing);
    expect(await createBuild(project, theirs)).toEqual({
      status: 403,
      body: { statusCode: 403, message: `a token of project '${other}' may act on that project only, not on '${project}'` },
    });
    expect(await createBuild(project, jobToken)).toEqual(wrongKind('job'));
    // Nor a project that does not exist yet: the refused call creates nothing.
    const unknown = `wr-${uniqueClusterName('nobody')}`;
    expect(await createBuild(unknown, ours)).toMatchObject({ status: 403 });
    expect(await new ProjectRepository(db).findByName(unknown)).toBeNull();

    const own = await createBuild(project, ours);
    expect(own).toMatchObject({ status: 201, body: { project, jobs: [{ name: 'only' }] } });
    expect(await createBuild(other, admin)).toMatchObject({ status: 201, body: { project: other } });
    // Reads need a token too (who may read what: test/auth/user-login.e2e-spec.ts).
    expect(await call('GET', `/api/v1/builds/${(own.body as BuildDto).id}`)).toMatchObject({ status: 401 });
    expect(await call('GET', `/api/v1/builds/${(own.body as BuildDto).id}`, ours)).toMatchObject({ status: 200 });
  });

  it('POST /api/v1/jobs/:id/abort: 401 without a token, 403 for another project or a job token, 200 for its project or an admin', async () => {
    const jobOf = async () => ((await createBuild(project, admin)).body as BuildDto).jobs![0];
    const first = await jobOf();
    const path = `/api/v1/jobs/${first.id}/abort`;
    expect(await call('POST', path)).toEqual(missing);
    expect(await call('POST', path, theirs)).toEqual({
      status: 403,
      body: { statusCode: 403, message: `a token of project '${other}' may act on that project only, not on '${project}'` },
    });
    expect(await call('POST', path, jobToken)).toEqual(wrongKind('job'));
    expect(await call('GET', `/api/v1/jobs/${first.id}`, ours)).toMatchObject({ status: 200, body: { state: 'queued' } });

    expect(await call('POST', path, ours)).toMatchObject({ status: 200, body: { id: first.id, state: 'killed' } });
    const second = await jobOf();
    expect(await call('POST', `/api/v1/jobs/${second.id}/abort`, admin)).toMatchObject({ status: 200, body: { state: 'killed' } });
    // An unknown job: 404 for a project token (its project cannot be told), as for an admin.
    expect(await call('POST', '/api/v1/jobs/00000000-0000-4000-8000-000000000000/abort', ours)).toMatchObject({ status: 404 });
  });

  it("a project token the master signed is accepted on this worker; one a worker signed is refused (401)", async () => {
    const projects = new ProjectRepository(db);
    const mine = (await projects.findByName(project))!;
    expect(await createBuild(project, await tokenServiceFor(db, MASTER_CLUSTER).issueProjectToken(mine.id, mine.name, 60))).toMatchObject({ status: 201 });
    const peer = await registeredCluster(db, uniqueClusterName('wrp'));
    const forged = await signRaw(
      { iss: peer, sub: `project:${mine.id}`, kind: 'project', projectId: mine.id, projectName: mine.name, iat: nowSeconds(), exp: nowSeconds() + 60 },
      await signingKeyOf(db, peer),
    );
    expect(await createBuild(project, forged)).toEqual({
      status: 401,
      body: { statusCode: 401, message: `invalid token: project tokens are issued by the master only, not by ${peer}` },
    });
  });
});
