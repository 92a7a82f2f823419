import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadIgnoreFile, packDirectory } from '@infrabox/archive';
import { Database } from '@infrabox/database';
import type { BuildDto, JobDto } from '@infrabox/jobs';
import { tokenServiceFor, projectToken } from '../support/auth';
import { runCli } from '../support/cli';
import { liveRegistryOptions, uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { api, apiAs, consoleOf as consoleOfJob, RunningCluster, settledJobs, startCluster } from '../support/installation';

/**
 * `infrabox push` against a master and two workers as processes (api, registry, scheduler,
 * output-forwarder each), plus a registered cluster whose processes were killed. The source is
 * uploaded to the master; each worker that runs a job of the build fetches it from there.
 */
describe('infrabox push: build sources across clusters', () => {
  const suffix = uniqueClusterName('');
  const names = { master: `master${suffix}`, a: `worker-a${suffix}`, b: `worker-b${suffix}`, down: `worker-down${suffix}` };
  const labels = { a: `A${suffix}`, b: `B${suffix}` };
  const project = `push${suffix}`;
  const registry = liveRegistryOptions();
  let clusters: RunningCluster[] = [];
  let master: RunningCluster;
  let db: Database;
  let token: string;
  let otherToken: string;
  let work: string;
  /** The first test's build: its source on the master, as uploaded. */
  let pushed: { buildId: string; size: number; sha256: string; bytes: Buffer } | undefined;

  beforeAll(async () => {
    db = openDatabase(2);
    work = await mkdtemp(path.join(tmpdir(), 'infrabox-push-test-'));
    const started = await Promise.all([
      startCluster({ name: names.master, labels: [`M${suffix}`] }, { registry, forwarder: true }),
      startCluster({ name: names.a, labels: [labels.a] }, { registry, forwarder: true }),
      startCluster({ name: names.b, labels: [labels.b] }, { registry, forwarder: true }),
      startCluster({ name: names.down, labels: [`D${suffix}`] }, { registry, forwarder: true }),
    ]);
    clusters = started.slice(0, 3);
    master = started[0];
    await started[3].kill(); // registered, then gone: it runs none of the builds' jobs
    await eventually(async () => {
      const all = (await api<Array<{ name: string; active: boolean }>>(master.apiUrl, 'GET', '/api/v1/clusters')).body;
      const active = new Set(all.filter((c) => c.active).map((c) => c.name));
      return active.has(names.master) && active.has(names.a) && active.has(names.b) && all.some((c) => c.name === names.down);
    }, 30_000, 'the suite’s clusters registered and active');
    token = await projectToken(`${project}`);
    otherToken = await projectToken(`other${suffix}`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    await db?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A folder with a source file, a file .infraboxignore leaves out, and an infrabox.json. */
  async function sourceFolder(jobs: Array<{ name: string; label: string }>): Promise<string> {
    const dir = path.join(work, randomUUID());
    await mkdir(path.join(dir, 'src'), { recursive: true });
    await writeFile(path.join(dir, 'src', 'hello.txt'), `hello from the source ${suffix}\n`);
    await writeFile(path.join(dir, 'secret.txt'), 'must not be uploaded\n');
    await writeFile(path.join(dir, '.infraboxignore'), 'secret.txt\n');
    const definition = {
      version: 1,
      jobs: jobs.map((job) => ({
        name: job.name,
        type: 'docker-image',
        image: 'none',
        cluster: { selector: [job.label] },
        command: ['sh', '-c', 'cat src/hello.txt; if [ -e secret.txt ]; then echo "secret present"; else echo "secret absent"; fi'],
      })),
    };
    await writeFile(path.join(dir, 'infrabox.json'), JSON.stringify(definition, null, 2));
    return dir;
  }

  async function upload(dir: string, bearer: string | undefined, projectName = project) {
    const packed = packDirectory(dir, { ignore: await loadIgnoreFile(dir) });
    const chunks: Buffer[] = [];
    for await (const chunk of packed.stream) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const response = await fetch(`${master.apiUrl}/api/v1/projects/${projectName}/source`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-tar', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: Readable.toWeb(Readable.from([body])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    return {
      status: response.status,
      body: (await response.json()) as { uploadId: string; size: number; sha256: string; message?: string },
      sent: await packed.done,
      bytes: body,
    };
  }

  const settled = (buildId: string, timeoutMs = 90_000) => settledJobs(master.apiUrl, buildId, timeoutMs);
  const consoleOf = (jobId: string) => consoleOfJob(master.apiUrl, jobId);


  async function sourceRows(buildId: string): Promise<Array<{ cluster_name: string; size_bytes: string; sha256: string }>> {
    return db.query('SELECT cluster_name, size_bytes, sha256 FROM build_source WHERE build_id = $1 ORDER BY cluster_name', [buildId]);
  }

  it('jobs on two workers run in the pushed source (ignored file absent); only those workers fetch it, the dead cluster fails nothing', async () => {
    const dir = await sourceFolder([
      { name: 'on-a', label: labels.a },
      { name: 'on-b', label: labels.b },
    ]);
    const uploaded = await upload(dir, token);
    expect(uploaded.status).toBe(201);
    expect(uploaded.body).toEqual({ uploadId: expect.any(String), size: uploaded.sent.size, sha256: uploaded.sent.sha256 });

    const definition = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(path.join(dir, 'infrabox.json'), 'utf8')));
    const build = await apiAs<BuildDto>(token, master.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition, uploadId: uploaded.body.uploadId });
    expect(build.status).toBe(201);
    // The upload is the build's source on the master from the build's creation on.
    expect((await sourceRows(build.body.id)).map((r) => r.cluster_name)).toEqual([names.master]);

    const jobs = await settled(build.body.id);
    for (const [name, cluster] of [['on-a', names.a], ['on-b', names.b]] as const) {
      const job = jobs.get(name)!;
      expect(`${job.state} ${job.message ?? ''}`.trim()).toBe('finished');
      expect(job.cluster).toBe(cluster);
      expect(await consoleOf(job.id)).toBe(`hello from the source ${suffix}\nsecret absent\n`);
    }
    const rows = await sourceRows(build.body.id);
    expect(rows.map((r) => r.cluster_name)).toEqual([names.a, names.b, names.master].sort());
    for (const row of rows) expect({ size: Number(row.size_bytes), sha256: row.sha256 }).toEqual({ size: uploaded.sent.size, sha256: uploaded.sent.sha256 });
    const ready = await db.query<{ cluster: string }>(
      `SELECT cluster FROM event WHERE type = 'build.source.ready' AND payload->>'buildId' = $1 ORDER BY cluster`,
      [build.body.id],
    );
    expect(ready.map((e) => e.cluster)).toEqual([names.a, names.b].sort());
    pushed = { buildId: build.body.id, size: uploaded.sent.size, sha256: uploaded.sent.sha256, bytes: uploaded.bytes };
  }, 150_000);

  it('serves a build’s source to peer clusters (cluster token; whole, or from an offset), to nobody else', async () => {
    expect(pushed).toBeDefined();
    const { buildId } = pushed!;
    const url = `${master.apiUrl}/api/v1/peer/source/${buildId}`;
    const peerTokens = tokenServiceFor(db, names.a);
    const bearer = { authorization: `Bearer ${await peerTokens.issueClusterToken(names.master)}` };
    // The build's jobs have ended: a runs none of them, and its token opens nothing of the build.
    const ended = await fetch(url, { headers: bearer });
    expect([ended.status, ((await ended.json()) as { message: string }).message]).toEqual([403, `cluster '${names.a}' runs no job of build '${buildId}'`]);
    // A job of the build running on a (a row, so no scheduler takes it): a may fetch the source.
    const [running] = await db.query<{ id: string }>(
      `INSERT INTO job (build_id, name, type, definition, cluster_name, state, started_at)
       VALUES ($1, 'still-running', 'wait', '{"type":"wait"}', $2, 'running', now()) RETURNING id`,
      [buildId, names.a],
    );
    try {
      await servesTheSource(url, bearer);
    } finally {
      await db.query(`UPDATE job SET state = 'killed', finished_at = now() WHERE id = $1`, [running.id]);
    }
    expect((await fetch(url, { headers: bearer })).status).toBe(403);
    // A build that does not exist: no job of it runs on a either.
    expect((await fetch(`${master.apiUrl}/api/v1/peer/source/${randomUUID()}`, { headers: bearer })).status).toBe(403);
  });

  const servesTheSource = async (url: string, bearer: Record<string, string>) => {
    const { bytes, sha256 } = pushed!;
    const whole = await fetch(url, { headers: bearer });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('x-infrabox-sha256')).toBe(sha256);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    const rest = await fetch(url, { headers: { ...bearer, range: 'bytes=100-' } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 100-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(100))).toBe(true);

    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);
  };

  it('a cluster that runs none of a build’s jobs never fetches its source', async () => {
    const dir = await sourceFolder([{ name: 'only-a', label: labels.a }]);
    const uploaded = await upload(dir, token);
    expect(uploaded.status).toBe(201);
    const definition = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(path.join(dir, 'infrabox.json'), 'utf8')));
    const build = await apiAs<BuildDto>(token, master.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition, uploadId: uploaded.body.uploadId });
    expect(build.status).toBe(201);
    const jobs = await settled(build.body.id);
    expect(jobs.get('only-a')!.state).toBe('finished');
    await new Promise((resolve) => setTimeout(resolve, 6_000)); // past a forwarder sweep (5 s)
    expect((await sourceRows(build.body.id)).map((r) => r.cluster_name)).toEqual([names.a, names.master].sort());
  }, 120_000);

  it('the upload needs a token of that project: 401 without one, 403 with another project’s', async () => {
    const dir = await sourceFolder([{ name: 'x', label: labels.a }]);
    const anonymous = await upload(dir, undefined);
    expect(anonymous.status).toBe(401);
    const foreign = await upload(dir, otherToken);
    expect(foreign.status).toBe(403);
    expect(foreign.body.message).toContain(`other${suffix}`);
    const notYetAProject = await upload(dir, token, `nobody${suffix}`);
    expect(notYetAProject.status).toBe(403);
  });

  it('a build naming an unknown upload, or one of another project, is refused with 400 naming it', async () => {
    const definition = { version: 1, jobs: [{ name: 'x', type: 'docker-image', image: 'none', command: ['true'] }] };
    const unknown = randomUUID();
    const refused = await apiAs<{ message: string }>(token, master.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition, uploadId: unknown });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toContain(unknown);

    const dir = await sourceFolder([{ name: 'x', label: labels.a }]);
    const theirs = await upload(dir, otherToken, `other${suffix}`);
    expect(theirs.status).toBe(201);
    const stolen = await apiAs<{ message: string }>(token, master.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition, uploadId: theirs.body.uploadId });
    expect(stolen.status).toBe(400);
    expect(stolen.body.message).toContain(theirs.body.uploadId);
    const count = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM build b JOIN project p ON p.id = b.project_id WHERE p.name = $1`,
      [project],
    );
    const before = count[0].n;
    await apiAs(token, master.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition, uploadId: 'not-a-uuid' });
    const after = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM build b JOIN project p ON p.id = b.project_id WHERE p.name = $1`, [project]))[0].n;
    expect(after).toBe(before); // a refused build leaves nothing behind
  });

  it('infrabox push --follow runs the folder end to end; infrabox jobs --json lists the jobs', async () => {
    const dir = await sourceFolder([
      { name: 'cli-a', label: labels.a },
      { name: 'cli-b', label: labels.b },
    ]);
    const pushed = await runCli(['push', dir, '--api', master.apiUrl, '--project', project, '--token', token, '--follow'], { cwd: work });
    expect(pushed.stderr).toContain('upload 100%');
    expect(pushed.code).toBe(0);
    const [buildId, ...progress] = pushed.stdout.trim().split('\n');
    expect(buildId).toMatch(/^[0-9a-f-]{36}$/);
    expect(progress).toEqual(expect.arrayContaining([`cli-a ${names.a} finished`, `cli-b ${names.b} finished`]));

    const listed = await runCli(['jobs', buildId, '--json', '--api', master.apiUrl, '--token', token], { cwd: work });
    expect(listed.code).toBe(0);
    const jobs = (JSON.parse(listed.stdout) as JobDto[]).sort((x, y) => x.name.localeCompare(y.name));
    const ended = { state: 'finished', message: null, exitCode: 0, startedAt: expect.any(String), finishedAt: expect.any(String) };
    expect(jobs).toEqual([
      expect.objectContaining({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'cli-a', cluster: names.a, ...ended }),
      expect.objectContaining({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'cli-b', cluster: names.b, ...ended }),
    ]);
    for (const job of (await api<BuildDto>(master.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.jobs!) {
      expect(await consoleOf(job.id)).toBe(`hello from the source ${suffix}\nsecret absent\n`);
    }

    const table = await runCli(['jobs', buildId, '--api', master.apiUrl, '--token', token], { cwd: work });
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATE\s+CLUSTER\s+EXIT\s+STARTED\s+FINISHED\s+MESSAGE$/);
  }, 150_000);

  it('infrabox push takes the API, project token and project from .infrabox/local.json; --json prints {buildId, jobs}', async () => {
    const dir = await sourceFolder([{ name: 'from-local-state', label: labels.a }]);
    const cwd = path.join(work, `cwd-${randomUUID()}`);
    await mkdir(path.join(cwd, '.infrabox'), { recursive: true });
    const state = { installations: [{ cluster: 'master', api: master.apiUrl }], token, project };
    await writeFile(path.join(cwd, '.infrabox', 'local.json'), JSON.stringify(state));
    const pushed = await runCli(['push', dir, '--json'], { cwd });
    expect(pushed.code).toBe(0);
    const answer = JSON.parse(pushed.stdout) as { buildId: string; jobs: Array<{ name: string; state: string }> };
    expect(answer.buildId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.jobs.map((j) => j.name)).toEqual(['from-local-state']);
    const build = await api<BuildDto & { project: string }>(master.apiUrl, 'GET', `/api/v1/builds/${answer.buildId}`);
    expect(build.body.project).toBe(project);
    const jobs = await settled(answer.buildId);
    expect(await consoleOf(jobs.get('from-local-state')!.id)).toBe(`hello from the source ${suffix}\nsecret absent\n`);
  }, 120_000);

  it('infrabox push refuses an invalid infrabox.json with #path lines and exit 1, uploading nothing', async () => {
    const dir = path.join(work, 'invalid');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'infrabox.json'), JSON.stringify({ version: 1, jobs: [{ type: 'docker-image', image: 'none' }] }));
    const pushed = await runCli(['push', dir, '--api', master.apiUrl, '--project', project, '--token', token], { cwd: work });
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toMatch(/^#jobs\[0\]\.name: /m);
    expect(pushed.stdout).toBe('');
  });

  /** A folder whose infrabox.json includes ci/sub.json as the workflow job `sub`, after `prep`. */
  async function folderWithInclude(ignore = ''): Promise<string> {
    const dir = path.join(work, randomUUID());
    await mkdir(path.join(dir, 'ci'), { recursive: true });
    const job = (name: string, label: string, text: string) => ({
      name,
      type: 'docker-image',
      image: 'none',
      cluster: { selector: [label] },
      command: ['sh', '-c', `echo ${text}; cat ci/marker.txt`],
    });
    await writeFile(path.join(dir, 'ci', 'marker.txt'), `marker ${suffix}\n`);
    await writeFile(path.join(dir, '.infraboxignore'), ignore);
    const root = { version: 1, jobs: [job('prep', labels.a, 'prep'), { name: 'sub', type: 'workflow', infrabox_file: 'ci/sub.json', depends_on: ['prep'] }] };
    await writeFile(path.join(dir, 'infrabox.json'), JSON.stringify(root, null, 2));
    const sub = { version: 1, jobs: [job('check', labels.b, 'check'), { ...job('report', labels.a, 'report'), depends_on: ['check'] }] };
    await writeFile(path.join(dir, 'ci', 'sub.json'), JSON.stringify(sub, null, 2));
    return dir;
  }

  it('infrabox push of a workflow include: the build is made of the included jobs, read from the upload, and every job finishes', async () => {
    const dir = await folderWithInclude();
    expect(await runCli(['validate', path.join(dir, 'infrabox.json')])).toMatchObject({ code: 0, stdout: 'valid\n' });
    const pushed = await runCli(['push', dir, '--api', master.apiUrl, '--project', project, '--token', token, '--follow'], { cwd: work });
    expect(pushed.stderr).not.toContain('HTTP 400');
    expect(pushed.code).toBe(0);
    const buildId = pushed.stdout.split('\n')[0]!;
    const build = (await api<BuildDto>(master.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body;
    expect(build.jobs!.map((j) => [j.name, j.dependsOn, j.state]).sort()).toEqual([
      ['prep', [], 'finished'],
      ['sub/check', ['prep'], 'finished'],
      ['sub/report', ['sub/check'], 'finished'],
    ]);
    const byName = new Map(build.jobs!.map((j) => [j.name, j]));
    expect(byName.get('sub/check')!.cluster).toBe(names.b);
    expect(await consoleOf(byName.get('sub/report')!.id)).toBe(`report\nmarker ${suffix}\n`);
  }, 150_000);

  it('an include missing from the upload is refused with its #path line, printed by the CLI one reason per line', async () => {
    // Valid on disk, but .infraboxignore keeps the included file out of the uploaded source.
    const dir = await folderWithInclude('ci/sub.json\n');
    const pushed = await runCli(['push', dir, '--api', master.apiUrl, '--project', project, '--token', token], { cwd: work });
    expect(pushed.code).toBe(1);
    expect(pushed.stdout).toBe('');
    const lines = pushed.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('upload '));
    expect(lines).toEqual([
      `the InfraBox API answered POST /api/v1/projects/${project}/builds with HTTP 400:`,
      '#jobs[1].infrabox_file: cannot load ci/sub.json: no such file in the uploaded source',
    ]);

    // Through the API: every reason in `errors`, and in the message, never a bare "invalid".
    const definition = { version: 1, jobs: [{ name: 'sub', type: 'workflow', infrabox_file: 'ci/sub.json' }, { name: 'bad', type: 'banana' }] };
    const refused = await apiAs<{ message: string; errors: string[] }>(token, master.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([
      "#jobs[1].type: 'banana' is not one of docker-image, docker, docker-compose, wait, workflow",
      '#jobs[0].infrabox_file: cannot load ci/sub.json: no source was uploaded with the build (uploadId) to read it from',
    ]);
    expect(refused.body.message).toBe(`invalid infrabox.json (2 problems): ${refused.body.errors.join('; ')}`);
  }, 60_000);

  it('infrabox push with a token of another project fails with exit 1 and names the project', async () => {
    const dir = await sourceFolder([{ name: 'x', label: labels.a }]);
    const pushed = await runCli(['push', dir, '--api', master.apiUrl, '--project', project], { cwd: work, env: { INFRABOX_TOKEN: otherToken } });
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain(`project '${project}'`);
    expect(pushed.stdout).toBe('');
  });
});
