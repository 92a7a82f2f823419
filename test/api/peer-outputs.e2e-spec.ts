import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { MASTER_CLUSTER, parseInstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { parseBuildDefinition } from '@infrabox/job-definition';
import { ArtifactCopyRepository, BuildRepository, JobPlacementRepository, JobRepository, outputKey, ProjectRepository, sourceKey } from '@infrabox/jobs';
import { OBJECT_STORAGE, ObjectStorage } from '@infrabox/storage';
import { ApiModule } from '../../apps/api/src/api.module';
import { craftTar } from '../support/archive';
import { placedJob, registeredCluster, tokenServiceFor } from '../support/auth';
import { authSection, uniqueClusterName } from '../support/clusters';
import { databaseUrl, eventually, openDatabase } from '../support/database';
import { setJobState } from '../support/job-states';
import { sha256 } from '../support/storage';

/** The peer data endpoints of one cluster's api: who may call them, and what they accept. */
describe('api: peer output endpoints', () => {
  const here = uniqueClusterName('here');
  const peer = uniqueClusterName('peer');
  const bytes = Buffer.from('a tar stands in here; the endpoint moves bytes, it does not read them\n'.repeat(500));
  let db: Database;
  let app: INestApplication;
  let baseUrl: string;
  let peerTokens: TokenService;
  let localTokens: TokenService;
  let jobId: string;
  let pushedJobId: string;
  let nowhereJobId: string;
  /** Ran on the peer, its child waits here: pushed in parts. */
  let resumedJobId: string;
  const big = Buffer.from(Array.from({ length: 40_000 }, (_, i) => `line ${i} of an output pushed in parts\n`).join(''));
  let otherTokens: TokenService;
  let otherName: string;

  beforeAll(async () => {
    db = openDatabase();
    const storageDir = await mkdtemp(path.join(tmpdir(), 'infrabox-peer-'));
    const config = parseInstallConfig(
      `host: http://127.0.0.1:1\ncluster:\n  name: ${here}\nstorage:\n  local:\n    enabled: true\n    path: ${storageDir}\n${authSection(here)}`,
      { DATABASE_URL: databaseUrl() },
    );
    const clusters = new ClusterRepository(db);
    for (const name of [here, peer]) await clusters.register({ name, labels: [], apiUrl: 'http://127.0.0.1:1' });
    app = (await Test.createTestingModule({ imports: [ApiModule.forConfig(config)] }).compile()).createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    peerTokens = tokenServiceFor(db, peer);
    localTokens = app.get(TokenService);

    // Two jobs: one whose output is stored here (its child waits on the peer, which may fetch it),
    // one that ran on the peer (its child waits here: the peer may push it here); and one whose
    // child waits on the peer but whose output is nowhere.
    const definition = parseBuildDefinition({
      version: 1,
      jobs: [
        { name: 'a', type: 'wait' },
        { name: 'b', type: 'wait' },
        { name: 'c', type: 'wait' },
        { name: 'd', type: 'wait' },
        { name: 'a-child', type: 'wait', depends_on: ['a'] },
        { name: 'd-child', type: 'wait', depends_on: ['d'] },
        { name: 'b-child', type: 'wait', depends_on: ['b'] },
        { name: 'c-child', type: 'wait', depends_on: ['c'] },
      ],
    });
    const jobs = new JobRepository(db);
    const placement = new JobPlacementRepository(db);
    const created = await db.transaction(async () => {
      const project = await new ProjectRepository(db).findOrCreate('peer-endpoints');
      const build = await new BuildRepository(db).create(project.id);
      return jobs.insertMany(build.id, definition.jobs);
    });
    const id = (name: string) => created.find((j) => j.name === name)!.id;
    [jobId, pushedJobId, nowhereJobId, resumedJobId] = [id('a'), id('b'), id('c'), id('d')];
    await jobs.insertDependencies(['a', 'b', 'c', 'd'].map((parent) => ({ jobId: id(`${parent}-child`), parentId: id(parent), on: ['finished'] })));
    await placement.place(jobId, here);
    await placement.place(pushedJobId, peer);
    await placement.place(nowhereJobId, here);
    await placement.place(resumedJobId, peer);
    for (const [child, cluster] of [['a-child', peer], ['b-child', here], ['c-child', peer], ['d-child', here]]) await placement.place(id(child), cluster);
    otherName = await registeredCluster(db, uniqueClusterName('other'));
    otherTokens = tokenServiceFor(db, otherName);
    const stored = await app.get<ObjectStorage>(OBJECT_STORAGE).put(outputKey(here, jobId), Readable.from([bytes]));
    const outputs = new ArtifactCopyRepository(db);
    await outputs.record('output', { id: jobId, cluster: here, storageKey: outputKey(here, jobId), size: stored.size, sha256: stored.sha256 });
    await outputs.record('output', { id: pushedJobId, cluster: peer, storageKey: outputKey(peer, pushedJobId), size: bytes.length, sha256: sha256(bytes) });
    await outputs.record('output', { id: resumedJobId, cluster: peer, storageKey: outputKey(peer, resumedJobId), size: big.length, sha256: sha256(big) });
  });

  afterAll(async () => {
    await app.close();
    await db.close();
  });

  const get = (id: string, headers: Record<string, string> = {}) => fetch(`${baseUrl}/api/v1/peer/output/${id}`, { headers });
  const storedUnder = async (prefix: string) => {
    const keys: string[] = [];
    for await (const object of app.get<ObjectStorage>(OBJECT_STORAGE).list(prefix)) keys.push(object.key);
    return keys;
  };
  const put = (id: string, body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}/api/v1/peer/output/${id}`, { method: 'PUT', headers: { 'content-type': 'application/x-tar', ...headers }, body });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('serves a job output to a peer cluster, whole or from a byte offset', async () => {
    const token = await peerTokens.issueClusterToken(here);
    const whole = await get(jobId, bearer(token));
    expect(whole.status).toBe(200);
    expect(whole.headers.get('x-infrabox-sha256')).toBe(sha256(bytes));
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const rest = await get(jobId, { ...bearer(token), range: 'bytes=1000-' });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 1000-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(1000))).toBe(true);
  });

  it.each([
    ['no token', {} as Record<string, string>, 401, 'missing bearer token'],
    ['garbage', { authorization: 'Bearer nonsense' }, 401, 'invalid token: malformed token'],
  ])('refuses %s with 401, on GET and PUT', async (_what, headers, status, message) => {
    for (const response of [await get(jobId, headers), await put(pushedJobId, bytes, headers)]) {
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ statusCode: status, message });
    }
  });

  it('refuses a cluster token meant for another cluster (401) and job or project tokens (403)', async () => {
    const elsewhere = await peerTokens.issueClusterToken('some-other-cluster');
    expect((await get(jobId, bearer(elsewhere))).status).toBe(401);
    const jobToken = await localTokens.issueJobToken(await placedJob(db, here), 60);
    const projectToken = await tokenServiceFor(db, MASTER_CLUSTER).issueProjectToken('p', 'peer-endpoints');
    for (const token of [jobToken, projectToken]) {
      expect((await get(jobId, bearer(token))).status).toBe(403);
      expect((await put(pushedJobId, bytes, bearer(token))).status).toBe(403);
    }
  });

  it('answers 404 for an output this cluster does not hold, and 400 for a malformed job id', async () => {
    const token = bearer(await peerTokens.issueClusterToken(here));
    expect((await get(nowhereJobId, token)).status).toBe(404);
    expect((await get('not-a-uuid', token)).status).toBe(400);
  });

  it("a peer's token opens only what that peer moves: 403 for outputs no job of it needs, and for pushes of what it does not hold or nobody here needs", async () => {
    const peerToken = bearer(await peerTokens.issueClusterToken(here));
    const otherToken = bearer(await otherTokens.issueClusterToken(here));
    const refused = async (response: Response, message: string) => {
      expect([response.status, ((await response.json()) as { message: string }).message]).toEqual([403, message]);
    };
    // The other cluster runs no child of a: it may not read a's output, which the peer may.
    await refused(await get(jobId, otherToken), `cluster '${otherName}' runs no job that needs the output of job '${jobId}'`);
    await refused(await get(pushedJobId, peerToken), `cluster '${peer}' runs no job that needs the output of job '${pushedJobId}'`);
    const unknown = randomUUID();
    await refused(await get(unknown, peerToken), `cluster '${peer}' runs no job that needs the output of job '${unknown}'`);
    // Only a holder pushes, and only what a job here waits for.
    await refused(await put(pushedJobId, bytes, otherToken), `cluster '${otherName}' holds no copy of the output of job '${pushedJobId}'`);
    await refused(await put(nowhereJobId, bytes, peerToken), `cluster '${peer}' holds no copy of the output of job '${nowhereJobId}'`);
    expect(await new ArtifactCopyRepository(db).find('output', pushedJobId, here)).toBeNull();
    // Once a's child on the peer has ended, the peer's token no longer reads a's output.
    const child = (await db.query<{ id: string }>(`SELECT job_id AS id FROM job_dependency WHERE parent_job_id = $1`, [jobId]))[0].id;
    await db.query(`UPDATE job SET state = 'killed', finished_at = now() WHERE id = $1`, [child]);
    try {
      await refused(await get(jobId, peerToken), `cluster '${peer}' runs no job that needs the output of job '${jobId}'`);
    } finally {
      await db.query(`UPDATE job SET state = 'queued', finished_at = NULL WHERE id = $1`, [child]);
    }
  });

  it('answers 404 naming the kind for a peer route of no kind of artifact (images move registry to registry)', async () => {
    const peerToken = bearer(await peerTokens.issueClusterToken(here));
    for (const kind of ['image', 'outputs', 'jobs']) {
      const response = await fetch(`${baseUrl}/api/v1/peer/${kind}/${jobId}`, { headers: peerToken });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { message: string }).message).toContain(`no peer route for '${kind}'`);
    }
  });

  it('refuses pushed bytes that do not match the recorded sha256 and records nothing', async () => {
    const token = bearer(await peerTokens.issueClusterToken(here));
    const corrupt = Buffer.from(bytes);
    corrupt[10] ^= 0xff;
    const response = await put(pushedJobId, corrupt, token);
    expect(response.status).toBe(422);
    expect(((await response.json()) as { message: string }).message).toContain('does not match the recorded');
    expect(await new ArtifactCopyRepository(db).find('output', pushedJobId, here)).toBeNull();
    expect(await storedUnder(`${here}/output/${pushedJobId}/`)).toEqual([]);
  });

  it('keeps each pushed copy under a key of its own with the cluster in it: a bad push cannot touch a good copy', async () => {
    const storage = app.get<ObjectStorage>(OBJECT_STORAGE);
    const token = bearer(await peerTokens.issueClusterToken(here));
    const corrupt = Buffer.from(bytes);
    corrupt[20] ^= 0xff;
    // A corrupt push and a good one at the same time: each writes its own key; the corrupt one
    // deletes only its own, the good one is recorded.
    const [bad, goodPush] = await Promise.all([put(pushedJobId, corrupt, token), put(pushedJobId, bytes, token)]);
    expect(goodPush.status).toBe(201);
    expect([422, 201]).toContain(bad.status); // 201 when the good copy was recorded before the corrupt one was read
    const good = (await new ArtifactCopyRepository(db).find('output', pushedJobId, here))!.storageKey!;
    expect(good).toMatch(new RegExp(`^${here}/output/${pushedJobId}/output\\.[0-9a-f]{12}\\.tar$`));
    expect(await storedUnder(`${here}/output/${pushedJobId}/`)).toEqual([good]);
    expect(Buffer.concat(await (await storage.get(good)).toArray()).equals(bytes)).toBe(true);
    // Once recorded, a further push (good or not) stores nothing.
    expect((await put(pushedJobId, corrupt, token)).status).toBe(201);
    expect(await storedUnder(`${here}/output/${pushedJobId}/`)).toEqual([good]);
  });

  it('resumes a push cut part way: asks how much arrived (308 with Range), sends only the rest, and records the copy', async () => {
    const token = bearer(await peerTokens.issueClusterToken(here));
    const url = `${baseUrl}/api/v1/peer/output/${resumedJobId}`;
    const ask = () => put(resumedJobId, Buffer.alloc(0), { ...token, 'content-range': `bytes */${big.length}` });
    expect((await ask()).status).toBe(308); // nothing here yet: no Range
    // The first push sends 300,000 bytes of the whole, then its connection is cut.
    const sent = 300_000;
    await new Promise<void>((resolve) => {
      const request = httpRequest(url, { method: 'PUT', headers: { 'content-type': 'application/x-tar', 'content-length': String(big.length), ...token } });
      request.on('error', () => resolve());
      request.write(big.subarray(0, sent), () => setTimeout(() => (request.destroy(), resolve()), 200));
    });
    let held = 0;
    await eventually(async () => {
      const answer = await ask();
      held = Number(/^bytes=0-(\d+)$/.exec(answer.headers.get('range') ?? '')?.[1] ?? -1) + 1;
      return answer.status === 308 && held === sent;
    }, 10_000, 'the receiver to hold the bytes of the cut push');
    expect(await new ArtifactCopyRepository(db).find('output', resumedJobId, here)).toBeNull();
    // A continuation from elsewhere than what is held is answered with what is held.
    const elsewhere = await put(resumedJobId, big.subarray(sent + 10), { ...token, 'content-range': `bytes ${sent + 10}-${big.length - 1}/${big.length}` });
    expect([elsewhere.status, elsewhere.headers.get('range')]).toEqual([308, `bytes=0-${sent - 1}`]);
    for (const [range, status] of [[`bytes 0-10/${big.length}`, 400], ['bytes=0-', 400], [`bytes ${sent}-${big.length - 1}/${big.length + 1}`, 422]] as const) {
      expect([range, (await put(resumedJobId, Buffer.from('x'), { ...token, 'content-range': range })).status]).toEqual([range, status]);
    }
    const rest = await put(resumedJobId, big.subarray(sent), { ...token, 'content-range': `bytes ${sent}-${big.length - 1}/${big.length}` });
    expect(rest.status).toBe(201);
    const copy = (await new ArtifactCopyRepository(db).find('output', resumedJobId, here))!;
    expect(copy).toMatchObject({ size: big.length, sha256: sha256(big) });
    expect(Buffer.concat(await (await app.get<ObjectStorage>(OBJECT_STORAGE).get(copy.storageKey!)).toArray()).equals(big)).toBe(true);
  });

  it('stores a pushed output, records the copy and announces it to this cluster, once', async () => {
    const token = bearer(await peerTokens.issueClusterToken(here));
    expect((await put(pushedJobId, bytes, token)).status).toBe(201); // a retried push changes nothing
    expect(await new ArtifactCopyRepository(db).find('output', pushedJobId, here)).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
    const events = await db.query<{ cluster: string }>(`SELECT cluster FROM event WHERE type = 'job.inputs.ready' AND payload->>'jobId' = $1`, [pushedJobId]);
    expect(events).toEqual([{ cluster: here }]);
  });
});

/** The routes a running job calls with its own token. */
describe('api: job data endpoints', () => {
  const here = uniqueClusterName('jobdata');
  const bytes = Buffer.from('output of the parent\n'.repeat(300));
  const sourceBytes = Buffer.from('the source of the build\n'.repeat(300));
  let db: Database;
  let app: INestApplication;
  let baseUrl: string;
  let tokens: TokenService;
  let ids: { parent: string; child: string; stranger: string };
  let buildId: string;
  let projectId: string;

  beforeAll(async () => {
    db = openDatabase();
    const storageDir = await mkdtemp(path.join(tmpdir(), 'infrabox-jobdata-'));
    const config = parseInstallConfig(
      `host: http://127.0.0.1:1\ncluster:\n  name: ${here}\nstorage:\n  local:\n    enabled: true\n    path: ${storageDir}\n${authSection(here)}`,
      { DATABASE_URL: databaseUrl() },
    );
    await new ClusterRepository(db).register({ name: here, labels: [], apiUrl: 'http://127.0.0.1:1' });
    app = (await Test.createTestingModule({ imports: [ApiModule.forConfig(config)] }).compile()).createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    tokens = app.get(TokenService);
    const definition = parseBuildDefinition({
      version: 1,
      jobs: [
        { name: 'parent', type: 'wait' },
        { name: 'child', type: 'wait', depends_on: ['parent'] },
        { name: 'stranger', type: 'wait' },
      ],
    });
    const jobs = new JobRepository(db);
    const placement = new JobPlacementRepository(db);
    const created = await db.transaction(async () => {
      const project = await new ProjectRepository(db).findOrCreate('job-data');
      const build = await new BuildRepository(db).create(project.id);
      buildId = build.id;
      projectId = project.id;
      return jobs.insertMany(build.id, definition.jobs);
    });
    ids = { parent: created[0].id, child: created[1].id, stranger: created[2].id };
    // A job token's parents are the database's, not its claim's.
    await jobs.insertDependencies([{ jobId: ids.child, parentId: ids.parent, on: ['finished'] }]);
    for (const id of Object.values(ids)) await placement.place(id, here);
    const stored = await app.get<ObjectStorage>(OBJECT_STORAGE).put(outputKey(here, ids.parent), Readable.from([bytes]));
    await new ArtifactCopyRepository(db).record('output', { id: ids.parent, cluster: here, storageKey: outputKey(here, ids.parent), size: stored.size, sha256: stored.sha256 });
    await setJobState(db, ids.child, ['queued'], 'running');
    const source = await app.get<ObjectStorage>(OBJECT_STORAGE).put(sourceKey(here, buildId), Readable.from([sourceBytes]));
    await new ArtifactCopyRepository(db).record('source', { id: buildId, cluster: here, storageKey: sourceKey(here, buildId), size: source.size, sha256: source.sha256 });
  });

  afterAll(async () => {
    await app.close();
    await db.close();
  });

  const tokenOf = (jobId: string, parentIds: string[]) => tokens.issueJobToken({ id: jobId, buildId, projectId, parentIds }, 60);
  const call = (method: string, route: string, token?: string, body?: Buffer) =>
    fetch(`${baseUrl}${route}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, body });

  it('gives a job its build’s source, to its own token only', async () => {
    const own = await call('GET', `/api/v1/jobs/${ids.child}/source`, await tokenOf(ids.child, [ids.parent]));
    expect(own.status).toBe(200);
    expect(own.headers.get('x-infrabox-sha256')).toBe(sha256(sourceBytes));
    expect(Buffer.from(await own.arrayBuffer()).equals(sourceBytes)).toBe(true);
    expect((await call('GET', `/api/v1/jobs/${ids.child}/source`)).status).toBe(401);
    expect((await call('GET', `/api/v1/jobs/${ids.child}/source`, await tokenOf(ids.stranger, []))).status).toBe(403);
    expect((await call('GET', `/api/v1/jobs/${ids.child}/source`, await tokens.issueClusterToken(here))).status).toBe(403);
  });

  it('gives a job its direct parent’s output', async () => {
    const response = await call('GET', `/api/v1/jobs/${ids.child}/inputs/${ids.parent}`, await tokenOf(ids.child, [ids.parent]));
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers 401 without a token and 403 for another job, a non-parent, or a cluster token', async () => {
    expect((await call('GET', `/api/v1/jobs/${ids.child}/inputs/${ids.parent}`)).status).toBe(401);
    expect((await call('PUT', `/api/v1/jobs/${ids.child}/output`, undefined, bytes)).status).toBe(401);
    const strangerToken = await tokenOf(ids.stranger, []);
    expect((await call('GET', `/api/v1/jobs/${ids.child}/inputs/${ids.parent}`, strangerToken)).status).toBe(403);
    expect((await call('GET', `/api/v1/jobs/${ids.stranger}/inputs/${ids.parent}`, strangerToken)).status).toBe(403);
    expect((await call('PUT', `/api/v1/jobs/${ids.child}/output`, strangerToken, bytes)).status).toBe(403);
    const clusterToken = await tokens.issueClusterToken(here);
    expect((await call('GET', `/api/v1/jobs/${ids.child}/inputs/${ids.parent}`, clusterToken)).status).toBe(403);
  });

  it('stores a running job’s own output, and refuses one from a job that is not running here', async () => {
    const tar = await craftTar([{ name: 'report.txt', content: 'all green' }]);
    const stored = await call('PUT', `/api/v1/jobs/${ids.child}/output`, await tokenOf(ids.child, [ids.parent]), tar);
    expect(stored.status).toBe(201);
    expect(await stored.json()).toEqual({ size: tar.length, sha256: sha256(tar) });
    // Found by the bad-input sweep: bytes that are no tar (or a hostile tar) replaced the output as they came.
    const hostile = await call('PUT', `/api/v1/jobs/${ids.child}/output`, await tokenOf(ids.child, [ids.parent]), await craftTar([{ name: '../x', content: 'x' }]));
    expect(hostile.status).toBe(422);
    expect(await hostile.json()).toMatchObject({ message: "output of job 'child': entry '../x': path leaves the destination" });
    expect((await call('PUT', `/api/v1/jobs/${ids.child}/output`, await tokenOf(ids.child, [ids.parent]), bytes)).status).toBe(422);
    const notRunning = await call('PUT', `/api/v1/jobs/${ids.stranger}/output`, await tokenOf(ids.stranger, []), bytes);
    expect(notRunning.status).toBe(409);
  });
});
