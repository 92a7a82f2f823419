import { appendFileSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ArchiveError, unpackTar } from '@infrabox/archive';
import { TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { ConfigError, MASTER_CLUSTER, parseInstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { validateBuildDefinition } from '@infrabox/job-definition';
import { ArtifactCopyRepository, JobPlacementRepository, outputKey, ProjectRepository, sourceKey } from '@infrabox/jobs';
import { craftTar, streamOf } from '../support/archive';
import { masterAdminToken, tokenServiceFor } from '../support/auth';
import { authSection, uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { setJobState } from '../support/job-states';
import { freePort, PROCESS_EXECUTOR } from '../support/installation';
import { startOidcProvider } from '../support/oidc-provider';
import { DIST, TestProcess } from '../support/processes';
import { ApiRoute, discoverRoutes, discoverWriteRoutes } from './api-routes';
import { archiveCases } from './archive-cases';
import { configCases } from './config-cases';
import { definitionCases } from './definition-cases';
import { storedState } from './stored-state';
import { clientErrorProblems, RawResponse, send } from './sweep-http';
import { SweepRandom } from './sweep-random';

/**
 * The bad-input sweep: generated malformed job definitions, install configs, API request bodies
 * and archives, each of which must get a clear error — and none of which may crash the api,
 * leak internals to the client or change anything already stored. Every input derives from one
 * seed, printed first; `INFRABOX_SWEEP_SEED=<seed>` replays a run.
 */
const MINIMUM_INPUTS = 500;
const MAX_ERROR_LINE = 500;

const random = SweepRandom.fromEnvironment();
/** What failed, per input; the test fails listing them (first ones), with the seed. */
const failures: string[] = [];
let inputs = 0;

function check(label: string, problems: string[]): void {
  inputs++;
  if (problems.length > 0) failures.push(`${label}: ${problems.join('; ')}`);
}

function expectNoFailures(section: string): void {
  const mine = failures.splice(0);
  if (process.env.INFRABOX_SWEEP_REPORT) appendFileSync(process.env.INFRABOX_SWEEP_REPORT, mine.map((f) => `${section}: ${f.slice(0, 2000)}\n`).join(''));
  if (mine.length > 0) {
    throw new Error(`${section}: ${mine.length} input(s) handled badly (seed ${random.seed}):\n${mine.slice(0, 25).map((f) => `  - ${f.slice(0, 600)}`).join('\n')}`);
  }
}

/** The api's archive caps in this sweep (small, so archives over them stay small). */
const ARCHIVE_CAPS = { entries: 300, bytes: 4 * 1024 * 1024 };

const VALID_DEFINITION = { version: 1, jobs: [{ type: 'wait', name: 'a' }, { type: 'wait', name: 'b', depends_on: ['a'] }] };

describe('bad-input sweep', () => {
  const here = uniqueClusterName('sweep');
  const peer = uniqueClusterName('sweep-peer');
  const project = `sweep-${random.word(6).toLowerCase()}`;
  let db: Database;
  let api: TestProcess;
  let apiExit: number | null | undefined;
  let baseUrl: string;
  let dir: string;
  let storageDir: string;
  let internalPaths: string[];
  let before: Record<string, string>;
  let projectToken: string;
  let adminToken: string;
  let jobToken: string;
  let otherJobToken: string;
  let clusterToken: string;
  let runningJobId: string;
  let otherJobId: string;
  let peerJobId: string;
  let peerBuildId: string;

  const alive = async (): Promise<string[]> => {
    if (apiExit !== undefined) return [`the api exited (${apiExit}): ${api.stderr.join('').slice(-500)}`];
    const live = await send(baseUrl, 'GET', '/health/live').catch((error: Error) => ({ status: 0, text: error.message }) as RawResponse);
    return live.status === 200 ? [] : [`/health/live answered ${live.status}: ${live.text.slice(0, 200)}`];
  };

  beforeAll(async () => {
    process.stdout.write(`bad-input sweep: seed ${random.seed} (replay: INFRABOX_SWEEP_SEED=${random.seed})\n`);
    db = openDatabase();
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-sweep-'));
    storageDir = path.join(dir, 'storage');
    internalPaths = [path.resolve(DIST, '..'), dir, storageDir];
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const configFile = path.join(dir, 'config.yaml');
    await writeFile(configFile, `host: ${baseUrl}\ncluster:\n  name: ${here}\nstorage:\n  local:\n    enabled: true\n    path: ${storageDir}\n${PROCESS_EXECUTOR}${authSection(here)}archives:\n  max_entries: ${ARCHIVE_CAPS.entries}\n  max_unpacked_bytes: ${ARCHIVE_CAPS.bytes}\n`);
    const clusters = new ClusterRepository(db);
    for (const name of [here, peer]) await clusters.register({ name, labels: [], apiUrl: baseUrl });

    api = new TestProcess('apps/api/src/main.js', ['--config', configFile]);
    void api.exited.then((code) => (apiExit = code));
    await api.waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, 'the api');

    // What is already stored: a project with a token, builds with jobs, a job running here,
    // an output and a source recorded on the peer (so the peer PUT routes have something to check).
    adminToken = await masterAdminToken();
    const admin = { authorization: `Bearer ${adminToken}` };
    // This api is a worker's: the master issues the project token.
    const projectOfToken = await new ProjectRepository(db).findOrCreate(project);
    projectToken = await tokenServiceFor(db, MASTER_CLUSTER).issueProjectToken(projectOfToken.id, projectOfToken.name, 3600);
    const created = await send(baseUrl, 'POST', `/api/v1/projects/${project}/builds`, {
      headers: { ...admin, 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ definition: VALID_DEFINITION })),
    });
    expect(created.status).toBe(201);
    const build = JSON.parse(created.text) as { id: string; jobs: Array<{ id: string; name: string }> };
    const [first, second] = build.jobs;
    const placement = new JobPlacementRepository(db);
    runningJobId = first.id;
    otherJobId = second.id;
    await placement.place(runningJobId, here);
    await setJobState(db, runningJobId, ['queued'], 'running');
    // Placed here but not running: its token is valid, its output is refused (409).
    await placement.place(otherJobId, here);
    const [projectRow] = await db.query<{ id: string }>('SELECT id FROM project WHERE name = $1', [project]);
    const localTokens = tokenServiceFor(db, here);
    jobToken = await localTokens.issueJobToken({ id: runningJobId, buildId: build.id, projectId: projectRow.id, parentIds: [] }, 3600);
    otherJobToken = await localTokens.issueJobToken({ id: otherJobId, buildId: build.id, projectId: projectRow.id, parentIds: [] }, 3600);
    const peerTokens: TokenService = tokenServiceFor(db, peer);
    clusterToken = await peerTokens.issueClusterToken(here, 3600);

    const peerBuild = JSON.parse(
      (await send(baseUrl, 'POST', `/api/v1/projects/${project}/builds`, { headers: { ...admin, 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ definition: VALID_DEFINITION })) })).text,
    ) as { id: string; jobs: Array<{ id: string }> };
    peerBuildId = peerBuild.id;
    peerJobId = peerBuild.jobs[0].id;
    await placement.place(peerJobId, peer);
    // Its child waits here: what lets the peer push the output and the source here.
    await placement.place(peerBuild.jobs[1].id, here);
    const recorded = { size: 10_240, sha256: 'ab'.repeat(32) };
    await new ArtifactCopyRepository(db).record('output', { id: peerJobId, cluster: peer, storageKey: outputKey(peer, peerJobId), ...recorded });
    await new ArtifactCopyRepository(db).record('source', { id: peerBuildId, cluster: peer, storageKey: sourceKey(peer, peerBuildId), ...recorded });

    // Whatever the api does on its own after a request (events it handles) settles before the snapshot.
    await new Promise((resolve) => setTimeout(resolve, 500));
    before = await storedState(db, storageDir);
  }, 120_000);

  beforeEach(() => {
    failures.splice(0);
  });

  afterAll(async () => {
    api?.kill('SIGTERM');
    await api?.exited;
    await db?.close();
  });

  it('job definitions: the validator answers `#path: reason` lines, for each', async () => {
    for (const testCase of definitionCases(random, 220)) {
      const problems: string[] = [];
      try {
        const result = validateBuildDefinition(testCase.input);
        if (result.ok) problems.push('accepted');
        else problems.push(...errorLineProblems(result.errors, /^#/, testCase.expectError));
      } catch (error) {
        problems.push(`threw ${String(error).slice(0, 200)}`);
      }
      check(testCase.label, problems);
    }
    expectNoFailures('validator');
  });

  it('job definitions through POST /api/v1/projects/:project/builds: 400 with the same lines', async () => {
    const post = (body: Buffer, contentType = 'application/json') =>
      send(baseUrl, 'POST', `/api/v1/projects/${project}/builds`, { headers: { authorization: `Bearer ${projectToken}`, 'content-type': contentType }, body });
    for (const testCase of definitionCases(random, 160)) {
      const body = Buffer.from(testCase.text === undefined ? JSON.stringify({ definition: testCase.input }) : `{"definition":${testCase.text}}`);
      const response = await post(body);
      const problems = clientErrorProblems(response, body.length > 1024 * 1024 ? 413 : 400, internalPaths);
      if (response.status === 400) {
        const errors = (JSON.parse(response.text) as { errors?: string[] }).errors ?? [];
        problems.push(...errorLineProblems(errors, /^#/, testCase.expectError));
      }
      check(`POST builds: ${testCase.label}`, problems);
    }
    const raw: Array<[string, Buffer, number]> = [
      ['invalid UTF-8 bytes in a name', Buffer.concat([Buffer.from('{"definition":{"version":1,"jobs":[{"type":"wait","name":"a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}}')]), 400],
      ['invalid UTF-8 bytes in an environment value', Buffer.concat([Buffer.from('{"definition":{"version":1,"jobs":[{"type":"docker-image","name":"a","image":"x","environment":{"A":"'), Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}}]}}')]), 400],
      ['10,000 levels of nesting in the body', Buffer.from(`{"definition":{"version":1,"jobs":[{"type":"wait","name":"a","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}]}}`), 400],
      ['10,000 levels of objects in the body', Buffer.from(`{"definition":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`), 400],
      ['definition as a string of truncated JSON', Buffer.from(JSON.stringify({ definition: '{"version":1,"jobs":[' })), 400],
      ['a 10 MB name', Buffer.from(JSON.stringify({ definition: { version: 1, jobs: [{ type: 'wait', name: 'n'.repeat(10 * 1024 * 1024) }] } })), 413],
      ['unknown body field', Buffer.from(JSON.stringify({ definition: VALID_DEFINITION, [`x${random.word()}`]: 1 })), 400],
      ['uploadId of a wrong type', Buffer.from(JSON.stringify({ definition: VALID_DEFINITION, uploadId: random.wrongValue(['string', 'null']) })), 400],
      ['unknown uploadId', Buffer.from(JSON.stringify({ definition: VALID_DEFINITION, uploadId: randomUUID() })), 400],
      ['uploadId with path tricks', Buffer.from(JSON.stringify({ definition: VALID_DEFINITION, uploadId: random.pick(['../../upload', '/etc/passwd', 'a\u0000b', '%2e%2e']) })), 400],
      ['body of a wrong type (array)', Buffer.from(JSON.stringify([VALID_DEFINITION])), 400],
      ['no definition', Buffer.from('{}'), 400],
    ];
    for (const [label, body, status] of raw) check(`POST builds: ${label}`, clientErrorProblems(await post(body), status, internalPaths));
    check('POST builds: alive afterwards', await alive());
    expectNoFailures('POST builds');
  });

  it('install configs: the loader names the field of each problem', async () => {
    for (const testCase of configCases(random, 120)) {
      const problems: string[] = [];
      try {
        parseInstallConfig(testCase.bytes.toString('utf8'), {}, dir, 'bad.yaml');
        problems.push('accepted');
      } catch (error) {
        if (!(error instanceof ConfigError)) problems.push(`threw ${String(error).slice(0, 200)} instead of a ConfigError`);
        else problems.push(...errorLineProblems(error.problems, /^[^\s:]+: \S/, testCase.expectProblem));
      }
      check(testCase.label, problems);
    }
    expectNoFailures('config loader');
  });

  it('install configs: each app started with a bad file exits 2 with one line per problem', async () => {
    const apps = ['api', 'registry', 'scheduler', 'output-forwarder'];
    const cases = configCases(random, 30).filter((_, i) => i % 3 === 0).slice(0, 8);
    await Promise.all(
      cases.map(async (testCase, index) => {
        const app = apps[index % apps.length];
        const file = path.join(dir, `bad-${index}.yaml`);
        await writeFile(file, testCase.bytes);
        const process = new TestProcess(`apps/${app}/src/main.js`, ['--config', file]);
        const code = await process.exited;
        const stderr = process.stderr.join('');
        const [first, ...lines] = stderr.trimEnd().split('\n');
        const problems: string[] = [];
        if (code !== 2) problems.push(`exit code ${code}, expected 2`);
        if (first !== `infrabox ${app}: Invalid install configuration ${file}:`) problems.push(`first line: ${first?.slice(0, 200)}`);
        problems.push(...errorLineProblems(lines.map((l) => l.replace(/^ {2}- /, '')), /^[^\s:]+: \S/, testCase.expectProblem));
        if (!lines.every((l) => l.startsWith('  - '))) problems.push('a line that is not "  - field: reason"');
        if (/\n\s+at /.test(stderr)) problems.push('a stack trace');
        check(`${app} --config (${testCase.label})`, problems);
      }),
    );
    expectNoFailures('app start');
  });

  it('archives: unpacking refuses each hostile tar, naming the entry, and writes nothing', async () => {
    const jail = await mkdtemp(path.join(tmpdir(), 'infrabox-sweep-jail-'));
    const sentinel = path.join(jail, 'outside');
    await mkdir(sentinel);
    const cases = await archiveCases(random, 100);
    for (const [index, testCase] of cases.entries()) {
      const treeBefore = await tree(jail);
      const dest = path.join(jail, 'a', 'b', `dest-${index}`);
      const problems: string[] = [];
      try {
        await unpackTar(streamOf(testCase.bytes, random.int(1, 4) * 512), dest);
        problems.push('accepted');
      } catch (error) {
        if (!(error instanceof ArchiveError)) problems.push(`threw ${String(error).slice(0, 200)} instead of an ArchiveError`);
        else if (!testCase.expectError.test(error.message)) problems.push(`error '${error.message.slice(0, 200)}' does not match ${testCase.expectError}`);
        if ((error as Error).message?.length > MAX_ERROR_LINE) problems.push(`error of ${(error as Error).message.length} characters`);
      }
      const now = await tree(jail);
      const added = now.filter((p) => !treeBefore.includes(p) && !/^a(\/b)?$/.test(p));
      if (added.length > 0) problems.push(`left ${added.slice(0, 3).join(', ')}`);
      check(testCase.label, problems);
    }
    expectNoFailures('unpack');
  });

  it('archives and upload names through the api: uploads, outputs and peer copies are refused', async () => {
    const tar = (route: string, body: Buffer, headers: Record<string, string>) =>
      send(baseUrl, 'PUT', route, { headers: { 'content-type': 'application/x-tar', ...headers }, body });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    for (const testCase of await archiveCases(random, 60)) {
      const source = await tar(`/api/v1/projects/${project}/source`, testCase.bytes, bearer(projectToken));
      // 413 when a header passes a cap of the api's archives (a huge size) before anything else is wrong.
      const sourceProblems = clientErrorProblems(source, [422, 413], internalPaths);
      if (source.status === 422 && !testCase.expectError.test(source.text)) sourceProblems.push(`message does not match ${testCase.expectError}`);
      if (source.status === 413 && !/the cap of an archive/.test(source.text)) sourceProblems.push('a 413 that names no cap');
      check(`PUT source: ${testCase.label}`, sourceProblems);
      const output = await tar(`/api/v1/jobs/${runningJobId}/output`, testCase.bytes, bearer(jobToken));
      check(`PUT job output: ${testCase.label}`, clientErrorProblems(output, [422, 413], internalPaths));
      const peerOutput = await tar(`/api/v1/peer/output/${peerJobId}`, testCase.bytes, bearer(clusterToken));
      check(`PUT peer output: ${testCase.label}`, clientErrorProblems(peerOutput, 422, internalPaths));
      const peerSource = await tar(`/api/v1/peer/source/${peerBuildId}`, testCase.bytes, bearer(clusterToken));
      check(`PUT peer source: ${testCase.label}`, clientErrorProblems(peerSource, 422, internalPaths));
    }
    const good = await craftTar([{ name: 'ok.txt', content: 'fine' }]);
    // Over a cap of the api's archives: 413 naming the cap, for a source and for a job's output.
    const manyEntries = await craftTar(Array.from({ length: ARCHIVE_CAPS.entries + 1 }, (_, i) => ({ name: `e${i}`, content: '' })));
    const manyBytes = await craftTar([{ name: 'a', content: 'a'.repeat(ARCHIVE_CAPS.bytes / 2) }, { name: 'b', content: 'b'.repeat(ARCHIVE_CAPS.bytes / 2 + 1) }]);
    for (const [cap, body, message] of [
      ['entries', manyEntries, `the archive has more than ${ARCHIVE_CAPS.entries} entries (the cap of an archive)`],
      ['unpacked bytes', manyBytes, `the archive unpacks to more than ${ARCHIVE_CAPS.bytes} bytes (the cap of an archive)`],
    ] as const) {
      for (const [what, route, token] of [
        ['source', `/api/v1/projects/${project}/source`, projectToken],
        ['job output', `/api/v1/jobs/${runningJobId}/output`, jobToken],
      ] as const) {
        const response = await tar(route, body, bearer(token));
        const problems = clientErrorProblems(response, 413, internalPaths);
        if (!response.text.includes(message)) problems.push(`message does not name the cap (${message}): ${response.text.slice(0, 200)}`);
        check(`PUT ${what} over the cap of ${cap}`, problems);
      }
    }
    const names = ['..', '../..', '%2e%2e', '%2e%2e%2f%2e%2e%2fetc', 'a%00b', '%ff%fe', `${'p'.repeat(300)}`, '%E2%80%AEtxt', 'a%2fb', '.', '%20'];
    for (const name of names) {
      const response = await tar(`/api/v1/projects/${name}/source`, good, bearer(projectToken));
      check(`PUT source to project '${name}'`, clientErrorProblems(response, undefined, internalPaths));
    }
    const others: Array<[string, Promise<RawResponse>, number | number[]]> = [
      ["another job's output", tar(`/api/v1/jobs/${otherJobId}/output`, good, bearer(jobToken)), 403],
      ['output of a job not running', tar(`/api/v1/jobs/${otherJobId}/output`, good, bearer(otherJobToken)), 409],
      ['output with a project token', tar(`/api/v1/jobs/${runningJobId}/output`, good, bearer(projectToken)), 403],
      ['peer output with a job token', tar(`/api/v1/peer/output/${peerJobId}`, good, bearer(jobToken)), 403],
      // The peer holds no copy of what it names: refused before anything is read.
      ['peer output of an unknown job', tar(`/api/v1/peer/output/${randomUUID()}`, good, bearer(clusterToken)), 403],
      ['peer source of an unknown build', tar(`/api/v1/peer/source/${randomUUID()}`, good, bearer(clusterToken)), 403],
      ['source with a cluster token', tar(`/api/v1/projects/${project}/source`, good, bearer(clusterToken)), 403],
      ['source claiming 1 TB', tar(`/api/v1/projects/${project}/source`, good, { ...bearer(projectToken), 'content-length': String(2 ** 40) }), 413],
    ];
    for (const [label, response, status] of others) check(`PUT ${label}`, clientErrorProblems(await response, status, internalPaths));
    check('archives: alive afterwards', await alive());
    expectNoFailures('archives through the api');
  });

  it('every POST and PUT route refuses wrong content types, broken or oversized JSON, wrong types and missing auth', async () => {
    const routes = await discoverWriteRoutes();
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /api/v1/projects/:project/builds', 'PUT /api/v1/projects/:project/source', 'PUT /api/v1/jobs/:id/output', 'POST /api/v1/admin/projects/:name/tokens']),
    );
    for (const route of routes) {
      const url = fillParams(route);
      const auth: Record<string, string> = route.auth.length > 0 ? { authorization: `Bearer ${tokenFor(route.auth[0])}` } : {};
      const attempt = (label: string, headers: Record<string, string>, body: Buffer | undefined, status?: number | number[]) =>
        send(baseUrl, route.method, url, { headers: { ...auth, ...headers }, body }).then((response) =>
          check(`${route.method} ${route.path}: ${label}`, clientErrorProblems(response, status, internalPaths)),
        );
      const json = { 'content-type': 'application/json' };
      const text = JSON.stringify({ definition: VALID_DEFINITION, ttlSeconds: 60 });
      await attempt('truncated JSON', json, Buffer.from(text.slice(0, random.int(1, text.length - 1))), 400);
      await attempt('invalid UTF-8 in JSON', json, Buffer.concat([Buffer.from('{"definition":"'), notUtf8(random.bytes(8)), Buffer.from('"}')]), 400);
      await attempt('JSON over the limit', json, Buffer.from(`{"x":"${'x'.repeat(random.int(2, 10) * 1024 * 1024)}"}`), 413);
      await attempt('JSON array instead of an object', json, Buffer.from(JSON.stringify([{ definition: VALID_DEFINITION }])));
      await attempt('JSON scalar', json, Buffer.from(random.pick(['"text"', '42', 'null', 'true'])), 400);
      for (const contentType of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) {
        const body = contentType.includes('urlencoded') ? Buffer.from('definition=%7B%7D&ttlSeconds=5') : Buffer.from(`--x\r\n${text}\r\n--x--`);
        await attempt(`content-type ${contentType}`, { 'content-type': contentType }, body, 415);
      }
      if (route.auth.length > 0) {
        // A body the route reads, so that only the token is wrong.
        const fitting = route.tar ? { 'content-type': 'application/x-tar' } : json;
        const fittingBody = () => (route.tar ? Buffer.alloc(1024) : Buffer.from(text));
        await send(baseUrl, route.method, url, { headers: fitting, body: fittingBody() }).then((r) =>
          check(`${route.method} ${route.path}: no token`, clientErrorProblems(r, 401, internalPaths)),
        );
        const headers: Array<[string, number]> = [['Bearer', 401], ['Bearer garbage.token.here', 401], [`Basic ${Buffer.from('a:b').toString('base64')}`, 401], [`Bearer ${'x'.repeat(20_000)}`, 431]];
        for (const [header, status] of headers) {
          await send(baseUrl, route.method, url, { headers: { ...fitting, authorization: header }, body: fittingBody() }).then((r) =>
            check(`${route.method} ${route.path}: authorization '${header.slice(0, 30)}'`, clientErrorProblems(r, status, internalPaths)),
          );
        }
        const wrongKind = tokenFor(['job', 'cluster', 'project', 'admin'].find((k) => !route.auth.includes(k))!);
        await send(baseUrl, route.method, url, { headers: { ...fitting, authorization: `Bearer ${wrongKind}` }, body: fittingBody() }).then((r) =>
          check(`${route.method} ${route.path}: token of another kind`, clientErrorProblems(r, 403, internalPaths)),
        );
      }
      for (const trick of ['..', '%2e%2e%2f%2e%2e', 'a%00b', '%ff', 'x'.repeat(300), '%E2%80%AE', '%25', 'a%2Fb']) {
        const tricked = route.path.replace(/:(\w+)/, trick);
        if (tricked === route.path) break;
        await send(baseUrl, route.method, tricked.replace(/:(\w+)/g, 'x'), { headers: { ...auth, ...json }, body: Buffer.from('{}') }).then((r) =>
          check(`${route.method} ${tricked.slice(0, 80)}: path trick`, clientErrorProblems(r, undefined, internalPaths)),
        );
      }
    }

    const tokens = (body: string, contentType = 'application/json') =>
      send(baseUrl, 'POST', `/api/v1/admin/projects/${project}-new/tokens`, { headers: { authorization: `Bearer ${adminToken}`, 'content-type': contentType }, body: Buffer.from(body) });
    for (let i = 0; i < 12; i++) {
      const ttl = random.wrongValue(['number']);
      check(`POST tokens: ttlSeconds ${JSON.stringify(ttl)?.slice(0, 40)}`, clientErrorProblems(await tokens(JSON.stringify({ ttlSeconds: ttl })), 400, internalPaths));
    }
    for (const ttl of [0, -1, 1.5, 1e300, 2 ** 53]) check(`POST tokens: ttlSeconds ${ttl}`, clientErrorProblems(await tokens(JSON.stringify({ ttlSeconds: ttl })), 400, internalPaths));
    check('POST tokens: unknown field', clientErrorProblems(await tokens(JSON.stringify({ ttl: 60 })), 400, internalPaths));
    for (const id of ['not-a-uuid', '1', randomUUID().toUpperCase().replace(/-/g, ''), "' OR 1=1 --"]) {
      check(`POST abort ${id}`, clientErrorProblems(await send(baseUrl, 'POST', `/api/v1/jobs/${encodeURIComponent(id)}/abort`, { headers: bearerOf(projectToken) }), 400, internalPaths));
    }
    check('POST abort of an unknown job', clientErrorProblems(await send(baseUrl, 'POST', `/api/v1/jobs/${randomUUID()}/abort`, { headers: bearerOf(projectToken) }), 404, internalPaths));
    for (const name of [`missing-${random.word(5).toLowerCase()}`, 'UPPER', '..', 'x'.repeat(300)]) {
      for (const action of ['enable', 'disable']) {
        check(`POST cluster ${action} '${name.slice(0, 20)}'`, clientErrorProblems(await send(baseUrl, 'POST', `/api/v1/admin/clusters/${name}/${action}`, { headers: bearerOf(adminToken) }), [400, 404], internalPaths));
      }
    }
    check('routes: alive afterwards', await alive());
    expectNoFailures('routes');
  });

  it('GET routes with bad parameters, queries and ranges never answer 5xx or show internals', async () => {
    const routes = (await discoverRoutes()).filter((route) => route.method === 'GET' && route.path.startsWith('/api/'));
    const queries = ['limit=abc', 'limit=1e400', 'limit=-5', 'limit=99999999999999999999', 'after=-1', 'after=abc', 'after=1e400', 'after=%00', 'type=%00', `type=${'t'.repeat(5000)}`, 'token=a&token=b', 'limit[]=1', 'after[x]=1'];
    const ranges = ['bytes=abc', 'bytes=5-1', 'bytes=99999999999999999999-', 'bytes=-0', 'bytes=0-0,5-9', 'items=0-1', `bytes=${'9'.repeat(400)}-`];
    for (const route of routes) {
      const auth: Record<string, string> = route.auth.length > 0 ? { authorization: `Bearer ${tokenFor(route.auth[0])}` } : {};
      const url = fillParams(route);
      const attempt = async (label: string, target: string, headers: Record<string, string> = {}) => {
        const response = await send(baseUrl, 'GET', target, { headers: { ...auth, ...headers } });
        const problems = response.status >= 500 ? [`status ${response.status}`] : [];
        if (response.status >= 400) problems.push(...clientErrorProblems(response, undefined, internalPaths).filter((p) => !p.startsWith('status')));
        check(`GET ${route.path}: ${label}`, problems);
      };
      for (const query of queries) await attempt(`?${query.slice(0, 40)}`, `${url}?${query}`);
      for (const trick of ['..', '%2e%2e%2f%2e%2e', 'a%00b', '%ff', 'x'.repeat(300), '%25', "'%20OR%201=1--"]) {
        const tricked = route.path.replace(/:(\w+)/, trick);
        if (tricked === route.path) break;
        await attempt('path trick', fillParams({ ...route, path: tricked }));
      }
      if (route.path.includes('/peer/')) for (const range of ranges) await attempt(`Range ${range.slice(0, 30)}`, url, { range });
    }
    check('GET routes: alive afterwards', await alive());
    expectNoFailures('GET routes');
  });

  it('the login flow (a master with a real OpenID provider): bad return_to, callbacks, cookies and device codes get a 400 naming the problem', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const provider = await startOidcProvider({
      clients: [{ client_id: 'sweep', client_secret: 'sweep-secret', redirect_uris: [`${url}/api/v1/auth/callback`] }],
      accounts: { alice: { email: 'alice@example.com' } },
    });
    const secretFile = path.join(dir, 'oidc-secret');
    await writeFile(secretFile, 'sweep-secret\n', { mode: 0o600 });
    const configFile = path.join(dir, 'master.yaml');
    const oidc = `  oidc:\n    issuer: ${provider.issuer}\n    client_id: sweep\n    client_secret_file: ${secretFile}\n`;
    await writeFile(configFile, `host: ${url}\nstorage:\n  local:\n    enabled: true\n    path: ${path.join(dir, 'master-storage')}\n${PROCESS_EXECUTOR}${authSection(MASTER_CLUSTER)}${oidc}`);
    const master = new TestProcess('apps/api/src/main.js', ['--config', configFile]);
    try {
      await master.waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, "the master's api");
      const get = (route: string, headers: Record<string, string> = {}) => send(url, 'GET', route, { headers });
      for (const target of ['//evil.example', 'https://evil.example/', '/\\evil.example', 'dashboard', '/a#b', `/${'x'.repeat(3000)}`, '/\u0000', ` /x`, random.word()]) {
        check(`login return_to '${target.slice(0, 30)}'`, clientErrorProblems(await get(`/api/v1/auth/login?return_to=${encodeURIComponent(target)}`), 400, internalPaths));
      }
      check('login return_to given twice', clientErrorProblems(await get('/api/v1/auth/login?return_to=/a&return_to=/b'), 400, internalPaths));
      const started = await get('/api/v1/auth/login?return_to=/dashboard');
      expect(started.status).toBe(302);
      const cookie = String(started.headers['set-cookie']).split(';')[0];
      const state = new URL(String(started.headers.location)).searchParams.get('state')!;
      const cookies = ['', 'infrabox_login=', 'infrabox_login=garbage', `${cookie}x`, `infrabox_login=${'a'.repeat(8000)}`, cookie, `other=1; ${cookie}`];
      const queries = ['', 'code=x', `state=${state}`, 'code=x&state=y', `code=${random.word()}&state=${state}`, `error=access_denied&state=${state}`, `code[]=a&state=${state}`, `code=a&code=b&state=${state}`, `code=${'x'.repeat(5000)}&state=${state}`, `iss=http%3A%2F%2Fevil&code=x&state=${state}`, '%00=1', `state=${state}&code=%00`];
      for (const jar of cookies) {
        for (const query of queries) {
          const response = await get(`/api/v1/auth/callback?${query}`, jar === '' ? {} : { cookie: jar });
          check(`callback ?${query.slice(0, 40)} with cookie '${jar.slice(0, 30)}'`, clientErrorProblems(response, 400, internalPaths));
        }
      }
      const post = (route: string, body: string) => send(url, 'POST', route, { headers: { 'content-type': 'application/json' }, body: Buffer.from(body) });
      for (let i = 0; i < 12; i++) {
        const deviceCode = random.wrongValue(['string']);
        check(`device/token deviceCode ${JSON.stringify(deviceCode)?.slice(0, 30)}`, clientErrorProblems(await post('/api/v1/auth/device/token', JSON.stringify({ deviceCode })), 400, internalPaths));
      }
      for (const body of ['{"deviceCode":""}', `{"deviceCode":"${'d'.repeat(3000)}"}`, `{"deviceCode":"${random.word()}"}`, '{"deviceCode":"x","user":"alice"}', '["x"]', '{}']) {
        check(`device/token body ${body.slice(0, 30)}`, clientErrorProblems(await post('/api/v1/auth/device/token', body), 400, internalPaths));
      }
      check('device with a JSON array', clientErrorProblems(await post('/api/v1/auth/device', '[1]'), 400, internalPaths));
      check('device with an unknown field', clientErrorProblems(await post('/api/v1/auth/device', '{"scope":"admin"}'), 400, internalPaths));
      const live = await get('/health/live');
      check("login: the master's api alive afterwards", live.status === 200 ? [] : [`/health/live answered ${live.status}`]);
    } finally {
      master.kill('SIGTERM');
      await master.exited;
      await provider.stop();
    }
    expectNoFailures('login flow');
  });

  it(`swept at least ${MINIMUM_INPUTS} inputs, the api still serves, and nothing stored changed`, async () => {
    process.stdout.write(`bad-input sweep: ${inputs} inputs, seed ${random.seed}\n`);
    expect(inputs).toBeGreaterThanOrEqual(MINIMUM_INPUTS);
    expect(apiExit).toBeUndefined();
    await eventually(async () => (await send(baseUrl, 'GET', '/health/ready')).status === 200, 10_000, 'the api to be ready');
    const after = await storedState(db, storageDir);
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((key) => before[key] !== after[key])
      .map((key) => `${key}: ${before[key] ?? '(absent)'} -> ${after[key] ?? '(absent)'}`);
    expect(changed.slice(0, 20)).toEqual([]);
  });

  function tokenFor(kind: string): string {
    return kind === 'job' ? jobToken : kind === 'cluster' ? clusterToken : kind === 'admin' ? adminToken : projectToken;
  }

  function bearerOf(token: string): Record<string, string> {
    return { authorization: `Bearer ${token}` };
  }

  /** The route with its parameters filled with things that exist, so the body is what is wrong. */
  function fillParams(route: ApiRoute): string {
    return route.path.replace(/:(\w+)/g, (_, name: string) => {
      if (name === 'project') return project;
      if (route.path.includes('/admin/projects/')) return `${project}-new`;
      if (route.path.includes('/admin/clusters/')) return `missing-${random.word(6).toLowerCase()}`;
      if (route.path.includes('/peer/output/')) return peerJobId;
      if (route.path.includes('/peer/source/')) return peerBuildId;
      if (route.path.includes('/jobs/')) return route.path.endsWith('/output') ? runningJobId : randomUUID();
      return random.word(8);
    });
  }
});

/** Problems of a list of error lines: none, too long, not in the house format, or none naming what was expected. */
function errorLineProblems(lines: readonly string[], format: RegExp, expected: RegExp): string[] {
  const problems: string[] = [];
  if (lines.length === 0) problems.push('no error lines');
  const long = lines.find((l) => l.length > MAX_ERROR_LINE);
  if (long) problems.push(`an error line of ${long.length} characters: ${long.slice(0, 80)}…`);
  const badFormat = lines.find((l) => !format.test(l));
  if (badFormat !== undefined) problems.push(`line not in the "field: reason" format: ${badFormat.slice(0, 120)}`);
  if (!lines.some((l) => expected.test(l))) problems.push(`no line matches ${expected}; got: ${lines.slice(0, 3).join(' | ').slice(0, 300)}`);
  return problems;
}

/** Every path under `root`, relative. */
async function tree(root: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(path.join(root, prefix))) {
    const relative = prefix ? `${prefix}/${entry}` : entry;
    out.push(relative);
    if ((await lstat(path.join(root, relative))).isDirectory()) out.push(...(await tree(root, relative)));
  }
  return out.sort();
}

/** Random high bytes that are never valid UTF-8 (0xFF is no UTF-8 byte; high bytes alone can still form valid sequences). */
function notUtf8(random: Buffer): Buffer {
  const bytes = Buffer.from(random.map((b) => b | 0x80));
  bytes[random.length >> 1] = 0xff;
  return bytes;
}
