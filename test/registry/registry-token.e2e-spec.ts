import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { decodeJwt } from 'jose';
import { TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { type InstallConfig, parseInstallConfig, REGISTRY_TOKEN_ROUTE } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { parseBuildDefinition } from '@infrabox/job-definition';
import { BuildRepository, JobPlacementRepository, JobRepository, ProjectRepository } from '@infrabox/jobs';
import { ApiModule } from '../../apps/api/src/api.module';
import { masterAdminToken, tokenServiceFor } from '../support/auth';
import { freePort } from '../support/cli';
import { authSection, uniqueClusterName } from '../support/clusters';
import { databaseUrl, openDatabase } from '../support/database';
import { setJobState } from '../support/job-states';
import { REGISTRY_DENIED, type RunningDockerRegistry, skopeo, startDockerRegistry, writeOciImage } from '../support/docker-registry';

/**
 * A cluster's registry with its api as token service, both real (docker-registry 2.8, the api on
 * the test database), driven by a real client (skopeo): who may push and pull what.
 */
describe('registry: the api as token service of a real docker-registry', () => {
  const here = uniqueClusterName('reg');
  const peer = uniqueClusterName('peer');
  const demo = uniqueClusterName('demo'); // project names: lowercase, so valid repository paths
  const other = uniqueClusterName('other');
  let dir: string;
  let db: Database;
  let config: InstallConfig;
  let app: INestApplication;
  let apiUrl: string;
  let registry: RunningDockerRegistry;
  let image: string;
  let jobToken: string;
  let adminToken: string;
  let peerToken: string;
  let jobId: string;
  let jobs: JobRepository;
  let placement: JobPlacementRepository;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-registry-token-'));
    db = openDatabase();
    const apiPort = await freePort();
    const registryPort = await freePort();
    config = parseInstallConfig(
      [
        `host: http://127.0.0.1:${apiPort}`,
        `cluster: {name: ${here}}`,
        `storage: {local: {enabled: true, path: ${dir}/storage}}`,
        `registry: {port: ${registryPort}, signing_key: ${dir}/keys/signing-key.pem}`,
        authSection(here),
      ].join('\n'),
      { DATABASE_URL: databaseUrl() },
    );
    const clusters = new ClusterRepository(db);
    for (const name of [here, peer]) await clusters.register({ name, labels: [], apiUrl: 'http://127.0.0.1:1' });
    app = (await Test.createTestingModule({ imports: [ApiModule.forConfig(config)] }).compile()).createNestApplication({ logger: ['error'] });
    await app.listen(apiPort, '127.0.0.1');
    apiUrl = config.apiUrl;
    registry = await startDockerRegistry(config, dir);
    image = await writeOciImage(path.join(dir, 'image'));

    jobs = new JobRepository(db);
    placement = new JobPlacementRepository(db);
    const definition = parseBuildDefinition({ version: 1, jobs: [{ name: 'build-image', type: 'wait' }] });
    const { project, build, job } = await db.transaction(async () => {
      const project = await new ProjectRepository(db).findOrCreate(demo);
      await new ProjectRepository(db).findOrCreate(other);
      const build = await new BuildRepository(db).create(project.id);
      const [job] = await jobs.insertMany(build.id, definition.jobs);
      return { project, build, job: job! };
    });
    jobId = job.id;
    await placement.place(jobId, here);
    const tokens = app.get(TokenService);
    jobToken = await tokens.issueJobToken({ id: job.id, buildId: build.id, projectId: project.id, parentIds: [] }, 600);
    adminToken = await masterAdminToken(databaseUrl(), 600);
    peerToken = await tokenServiceFor(db, peer).issueClusterToken(here, 600);
  });
  afterAll(async () => {
    await registry?.stop();
    await app?.close();
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const push = (token: string | undefined, repository: string) =>
    skopeo(['copy', '--dest-tls-verify=false', ...creds('dest', token), `oci:${image}:latest`, `docker://${registry.host}/${repository}`], dir);
  const pull = async (token: string | undefined, repository: string) =>
    skopeo(['copy', '--src-tls-verify=false', ...creds('src', token), `docker://${registry.host}/${repository}`, `dir:${await mkdtemp(path.join(dir, 'pulled-'))}`], dir);
  const creds = (side: 'src' | 'dest', token: string | undefined) => (token === undefined ? [`--${side}-no-creds`] : [`--${side}-creds`, `x:${token}`]);
  /** The registry itself refuses: the token it was handed does not grant the action. */
  const refused = { code: 1, stderr: expect.stringMatching(REGISTRY_DENIED) };
  /** The token service refuses to hand out any token (401), so the client gives up. */
  const noToken = { code: 1, stderr: expect.stringContaining('unable to retrieve auth token: invalid username/password: unauthorized') };

  it('keeps the signing key in a file of mode 600 and its certificate next to it', async () => {
    expect((await stat(path.join(dir, 'keys', 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'keys', 'signing-key.crt'))).isFile()).toBe(true);
    expect(registry.output.join('')).not.toMatch(/level=(error|fatal|panic)/);
  });

  it('a job token pushes to and pulls from its own project, and nothing of another', async () => {
    expect(await push(jobToken, `${demo}/x:1`)).toEqual({ code: 0, stderr: '' });
    expect(await pull(jobToken, `${demo}/x:1`)).toEqual({ code: 0, stderr: '' });
    expect(await push(jobToken, `${other}/x:1`)).toEqual(refused);
    expect(await pull(jobToken, `${other}/x:1`)).toEqual(refused);
  });

  it('no token, or a token that is not one, gets nothing', async () => {
    expect(await push(undefined, `${demo}/x:anonymous`)).toEqual(noToken);
    expect(await pull(undefined, `${demo}/x:1`)).toEqual(noToken);
    expect(await pull('not-a-token', `${demo}/x:1`)).toEqual(noToken);
    // And with no token at all the registry answers 401 itself, pointing at the api.
    const direct = await fetch(`${registry.url}/v2/${demo}/x/manifests/1`);
    expect([direct.status, direct.headers.get('www-authenticate')]).toEqual([401, expect.stringContaining(`realm="${apiUrl}${REGISTRY_TOKEN_ROUTE}"`)]);
  });

  it('a peer cluster pulls only while a job of the project waits or runs on it, and never pushes', async () => {
    expect(await pull(peerToken, `${demo}/x:1`)).toEqual(refused);
    await placement.place(jobId, peer); // the job is queued on the peer now: the peer forwards demo's images
    try {
      expect(await pull(peerToken, `${demo}/x:1`)).toEqual({ code: 0, stderr: '' });
      expect(await pull(peerToken, `${other}/x:1`)).toEqual(refused);
      expect(await push(peerToken, `${demo}/x:from-peer`)).toEqual(refused);
      await setJobState(db, jobId, ['queued'], 'finished');
      expect(await pull(peerToken, `${demo}/x:1`)).toEqual(refused);
    } finally {
      await db.query(`UPDATE job SET state = 'queued', cluster_name = $2 WHERE id = $1`, [jobId, here]);
    }
  });

  it('an admin token pushes and pulls any repository and reads the catalog', async () => {
    expect(await push(adminToken, `${other}/y:1`)).toEqual({ code: 0, stderr: '' });
    expect(await pull(adminToken, `${demo}/x:1`)).toEqual({ code: 0, stderr: '' });
    const token = await tokenFor(adminToken, ['registry:catalog:*']);
    const catalog = await fetch(`${registry.url}/v2/_catalog`, { headers: { authorization: `Bearer ${token.body.token}` } });
    expect(catalog.status).toBe(200);
    expect((await catalog.json()) as unknown).toEqual({ repositories: expect.arrayContaining([`${demo}/x`, `${other}/y`]) });
  });

  const tokenFor = async (token: string | undefined, scopes: string[], service: string = here, authorization?: string) => {
    const query = new URLSearchParams([['service', service], ...scopes.map((s): [string, string] => ['scope', s])]);
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Basic ${Buffer.from(`infrabox:${token}`).toString('base64')}`;
    if (authorization !== undefined) headers.authorization = authorization;
    const response = await fetch(`${apiUrl}${REGISTRY_TOKEN_ROUTE}?${query}`, { headers });
    return {
      status: response.status,
      authenticate: response.headers.get('www-authenticate'),
      body: (await response.json()) as { token: string; access_token: string; expires_in: number; issued_at: string; message?: string },
    };
  };

  it('the token route grants per scope exactly what the rule grants, with Basic or Bearer', async () => {
    const answer = await tokenFor(jobToken, [`repository:${demo}/x:pull,push`, `repository:${other}/x:pull`, `repository:${demo}/x:delete`]);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ token: answer.body.access_token, access_token: expect.any(String), expires_in: 300, issued_at: expect.any(String) });
    const claims = decodeJwt(answer.body.token);
    expect(claims).toMatchObject({ iss: here, aud: here, sub: `job:${jobId}`, access: [{ type: 'repository', name: `${demo}/x`, actions: ['pull', 'push'] }] });
    expect(Math.abs(Date.parse(answer.body.issued_at) / 1000 - claims.iat!)).toBeLessThanOrEqual(1);
    const bearer = await tokenFor(undefined, [`repository:${demo}/x:pull`], here, `Bearer ${peerToken}`);
    expect([bearer.status, decodeJwt(bearer.body.token).access]).toEqual([200, []]);
  });

  it('the token route answers 401 without valid credentials, 400 for a bad scope or service', async () => {
    const anonymous = await tokenFor(undefined, [`repository:${demo}/x:pull`]);
    expect([anonymous.status, anonymous.authenticate, anonymous.body.message]).toEqual([401, expect.stringMatching(/^Basic realm=/), expect.stringContaining('missing credentials')]);
    const forged = await tokenFor('a.b.c', [`repository:${demo}/x:pull`]);
    expect([forged.status, forged.authenticate, forged.body.message]).toEqual([401, expect.stringMatching(/^Basic /), 'invalid token: malformed token']);
    const badScope = await tokenFor(jobToken, [`repository:${demo}/x:pull`, 'repository:Demo/X:pull']);
    expect([badScope.status, badScope.body.message]).toEqual([400, "scope 'repository:Demo/X:pull': 'Demo/X' is not a repository name"]);
    const wrongService = await tokenFor(jobToken, [], 'elsewhere');
    expect([wrongService.status, wrongService.body.message]).toEqual([400, `service: 'elsewhere' is not this cluster's registry; expected '${here}'`]);
  });
});
