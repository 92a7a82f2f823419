import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClusterRepository } from '@infrabox/clusters';
import { parseInstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { EventRepository } from '@infrabox/events';
import { parseBuildDefinition } from '@infrabox/job-definition';
import { Build, BuildRepository, Job, JobConsoleRepository, JobDto, JobPlacementRepository, JobRepository, JobTransitions, ProjectRepository } from '@infrabox/jobs';
import { ApiModule } from '../../apps/api/src/api.module';
import { authSection, uniqueClusterName } from '../support/clusters';
import { databaseUrl, eventually, openDatabase, uniqueEventType } from '../support/database';
import { masterAdminToken } from '../support/auth';
import { runCli } from '../support/cli';

/** `infrabox builds`, `logs` and `events` against a real api app (in-process) on the test database. */
describe('infrabox builds / logs / events (against a real api)', () => {
  const projectName = uniqueClusterName('cli-project');
  let db: Database;
  let app: INestApplication;
  let url: string;
  let jobs: JobRepository;
  let consoles: JobConsoleRepository;
  let builds: Build[];
  /** The first build's one job: placed on cluster `east`, started, ended in failure with exit code 3. */
  const east = uniqueClusterName('east');
  let ran: Job;
  /** The CLI as an admin (reads need a login; their rules have tests of their own: test/auth). */
  let adminToken: string;
  const cli = (args: string[]) => runCli(args, { env: { INFRABOX_TOKEN: adminToken } });

  async function newJob(name: string): Promise<string> {
    const project = await new ProjectRepository(db).findOrCreate(projectName);
    const build = await new BuildRepository(db).create(project.id);
    const [job] = await jobs.insertMany(build.id, parseBuildDefinition({ version: 1, jobs: [{ name, type: 'wait' }] }).jobs);
    return job!.id;
  }

  beforeAll(async () => {
    db = openDatabase();
    adminToken = await masterAdminToken();
    const name = uniqueClusterName('cli');
    const config = parseInstallConfig(`host: http://127.0.0.1:1\ncluster:\n  name: ${name}\n${authSection(name)}`, { DATABASE_URL: databaseUrl() });
    app = (await Test.createTestingModule({ imports: [ApiModule.forConfig(config)] }).compile()).createNestApplication({ logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    jobs = new JobRepository(db);
    consoles = new JobConsoleRepository(db);
    const project = await new ProjectRepository(db).findOrCreate(projectName);
    const repo = new BuildRepository(db);
    const first = await repo.create(project.id);
    const second = await repo.create(project.id);
    builds = [second, first]; // newest first, as the API lists them
    const wait = (name: string) => parseBuildDefinition({ version: 1, jobs: [{ name, type: 'wait' }] }).jobs;
    await jobs.insertMany(second.id, wait('waiting'));
    const [job] = await jobs.insertMany(first.id, wait('ran'));
    const transitions = app.get(JobTransitions);
    await new ClusterRepository(db).register({ name: east, labels: [], apiUrl: 'http://127.0.0.1:1' });
    await new JobPlacementRepository(db).place(job!.id, east);
    expect(await transitions.start(job!.id, east)).not.toBeNull();
    ran = (await transitions.end(job!.id, ['running'], 'failure', { exitCode: 3, message: 'exit code 3' }))!;
    expect(ran).toMatchObject({ state: 'failure', exitCode: 3 });
  });

  /** `2026-12-02T07:10:34Z`: an ISO time to the second, as the tables show it. */
  const toSecond = (time: Date | null) => (time === null ? '-' : time.toISOString().replace(/\.\d+Z$/, 'Z'));

  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it('builds: prints the recent builds as a table, and as JSON with --json', async () => {
    const table = await cli(['builds', '--limit', '2', '--api', url]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PROJECT\s+NUMBER\s+STATE\s+CREATED$/);
    const states = ['queued', 'failure']; // a job waiting; a job that failed
    expect(lines.slice(1).map((line) => line.split(/\s+/))).toEqual(
      builds.map((b, i) => [b.id, projectName, String(b.number), states[i], toSecond(b.createdAt)]),
    );

    const json = await cli(['builds', '--json', '--limit', '2', '--api', url]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(
      builds.map((b, i) => ({ id: b.id, project: projectName, number: b.number, createdAt: b.createdAt.toISOString(), state: states[i], jobStates: { [states[i]!]: 1 } })),
    );
    // The next page: the builds older than the last one shown.
    const next = await cli(['builds', '--json', '--limit', '1', '--before', builds[0].id, '--api', url]);
    expect((JSON.parse(next.stdout) as Array<{ id: string }>).map((b) => b.id)).toEqual([builds[1].id]);
    expect(await cli(['builds', '--before', 'yesterday', '--api', url])).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 400') });
  });

  it('jobs: the table and --json give each job its id, state, cluster, exit code, started and finished', async () => {
    const table = await cli(['jobs', ran.buildId, '--api', url]);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATE\s+CLUSTER\s+EXIT\s+STARTED\s+FINISHED\s+MESSAGE$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual([[ran.id, 'ran', 'failure', east, '3', toSecond(ran.startedAt), toSecond(ran.finishedAt), 'exit code 3']]);
    expect(ran.startedAt).not.toBeNull();

    const json = await cli(['jobs', ran.buildId, '--json', '--api', url]);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as JobDto[];
    expect(listed).toEqual([
      {
        id: ran.id,
        buildId: ran.buildId,
        name: 'ran',
        type: 'wait',
        state: 'failure',
        cluster: east,
        message: 'exit code 3',
        exitCode: 3,
        dependsOn: [],
        createdAt: ran.createdAt.toISOString(),
        startedAt: ran.startedAt!.toISOString(),
        finishedAt: ran.finishedAt!.toISOString(),
      },
    ]);
    // The id listed is the one `infrabox logs` takes.
    await consoles.append(listed[0]!.id, 'by id\n');
    expect(await cli(['logs', listed[0]!.id, '--api', url])).toEqual({ code: 0, stdout: 'by id\n', stderr: '' });
  });

  it('logs BUILD/JOBNAME: the job of that name in that build; an unknown name lists the build’s jobs', async () => {
    const project = await new ProjectRepository(db).findOrCreate(projectName);
    const build = await new BuildRepository(db).create(project.id);
    const definition = parseBuildDefinition(
      { version: 1, jobs: [{ name: 'sub', type: 'workflow', infrabox_file: 'sub.json' }, { name: 'sub-x', type: 'wait' }] },
      { loadInclude: () => JSON.stringify({ version: 1, jobs: [{ name: 'x', type: 'wait' }] }) },
    );
    const [included, plain] = await jobs.insertMany(build.id, definition.jobs);
    expect(included!.name).toBe('sub/x');
    await consoles.append(included!.id, 'included job\n');
    await consoles.append(plain!.id, 'plain job\n');
    expect(await cli(['logs', `${build.id}/sub/x`, '--api', url])).toEqual({ code: 0, stdout: 'included job\n', stderr: '' });
    expect(await cli(['logs', `${build.id}/sub-x`, '--api', url])).toEqual({ code: 0, stdout: 'plain job\n', stderr: '' });
    expect(await cli(['logs', `${build.id}/nope`, '--api', url])).toEqual({
      code: 1,
      stdout: '',
      stderr: `build '${build.id}' has no job 'nope' (its jobs: sub-x, sub/x)\n`,
    });
    expect(await cli(['logs', 'not-a-build/x', '--api', url])).toEqual({ code: 1, stdout: '', stderr: "build 'not-a-build' not found\n" });
  });

  it('builds: a bad --limit is a usage error (exit 2)', async () => {
    const result = await cli(['builds', '--limit', 'zero', '--api', url]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
  });

  it("logs: prints a job's chunks in order", async () => {
    const jobId = await newJob('two-chunks');
    await consoles.append(jobId, 'first line\n');
    await consoles.append(jobId, 'second line\n');
    expect(await cli(['logs', jobId, '--api', url])).toEqual({ code: 0, stdout: 'first line\nsecond line\n', stderr: '' });
  });

  it('logs --follow: prints output as it comes and exits 0 once the job has ended', async () => {
    const jobId = await newJob('followed');
    await consoles.append(jobId, 'before\n');
    const started = Date.now();
    const running = cli(['logs', jobId, '--follow', '--api', url]);
    let exited = false;
    void running.then(() => (exited = true));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(exited).toBe(false);
    await consoles.append(jobId, 'during\n');
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(exited).toBe(false);
    await consoles.append(jobId, 'last words\n');
    expect(await app.get(JobTransitions).end(jobId, ['queued'], 'finished', { exitCode: 0 })).not.toBeNull();
    const result = await running;
    expect(result).toEqual({ code: 0, stdout: 'before\nduring\nlast words\n', stderr: '' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('logs: a 10 MB console comes in pages of about 1 MiB, and `infrabox logs` prints all of it, in order', async () => {
    const jobId = await newJob('chatty');
    const chunk = (i: number) => `${String(i).padStart(6, '0')}:${'x'.repeat(50 * 1024 - 8)}\n`;
    for (let i = 0; i < 200; i++) await consoles.append(jobId, chunk(i));
    const whole = Array.from({ length: 200 }, (_, i) => chunk(i)).join('');
    let after = 0;
    let read = '';
    let pages = 0;
    for (;;) {
      const response = await fetch(`${url}/api/v1/jobs/${jobId}/console?after=${after}`, { headers: { authorization: `Bearer ${adminToken}` } });
      const page = (await response.json()) as Array<{ seq: number; text: string }>;
      if (page.length === 0) break;
      pages++;
      const bytes = page.reduce((sum, c) => sum + Buffer.byteLength(c.text), 0);
      expect(bytes).toBeLessThanOrEqual(1024 * 1024 + 50 * 1024);
      read += page.map((c) => c.text).join('');
      after = page[page.length - 1].seq;
    }
    expect(pages).toBeGreaterThanOrEqual(10);
    expect(read === whole).toBe(true);
    const printed = await cli(['logs', jobId, '--api', url]);
    expect([printed.code, printed.stderr, printed.stdout.length]).toEqual([0, '', whole.length]);
    expect(printed.stdout === whole).toBe(true);
  });

  it('logs: an unknown job is one line and exit 1', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await cli(['logs', missing, '--api', url])).toEqual({ code: 1, stdout: '', stderr: `job '${missing}' not found\n` });
    expect(await cli(['logs', 'not-a-job', '--follow', '--api', url])).toEqual({ code: 1, stdout: '', stderr: "job 'not-a-job' not found\n" });
  });

  it('events --channel: only that type, by type or channel name, as lines or JSON lines', async () => {
    const type = uniqueEventType('ping');
    const other = uniqueEventType('pong');
    const events = new EventRepository(db);
    const a = await events.insert(type, null, { n: 1 });
    await events.insert(other, null, { n: 2 });
    const b = await events.insert(type, 'east', { n: 3 });

    const expected = `${a} ${type} - {"n":1}\n${b} ${type} east {"n":3}\n`;
    for (const channel of [type, type.replace('.', '_')]) {
      expect(await cli(['events', '--channel', channel, '--api', url])).toEqual({ code: 0, stdout: expected, stderr: '' });
    }
    const json = await cli(['events', '--channel', type, '--json', '--api', url]);
    expect(json.code).toBe(0);
    expect(json.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as unknown)).toEqual([
      { id: a, type, cluster: null, payload: { n: 1 }, createdAt: expect.any(String) },
      { id: b, type, cluster: 'east', payload: { n: 3 }, createdAt: expect.any(String) },
    ]);
  });

  it('events --channel job_finished: shows the job.finished event of a job ended here', async () => {
    const jobId = await newJob('ended');
    await app.get(JobTransitions).end(jobId, ['queued'], 'finished', { exitCode: 0 });
    for (const channel of ['job_finished', 'job.finished']) {
      const result = await cli(['events', '--channel', channel, '--api', url]);
      expect(result.code).toBe(0);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines.every((line) => / job\.finished /.test(line))).toBe(true);
      expect(lines.some((line) => line.includes(jobId))).toBe(true);
    }
  });

  it('events --follow: keeps printing new events', async () => {
    const type = uniqueEventType('tick');
    const events = new EventRepository(db);
    const { spawn } = await import('node:child_process');
    const { CLI, cliEnvironment } = await import('../support/cli');
    const child = spawn(process.execPath, [CLI, 'events', '--follow', '--channel', type, '--api', url], { env: cliEnvironment({ INFRABOX_TOKEN: adminToken }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    try {
      const first = await events.insert(type, null, 1);
      await eventually(() => stdout.includes(`${first} ${type} - 1\n`), 10_000, 'the first event');
      const second = await events.insert(type, null, 2);
      await eventually(() => stdout.includes(`${second} ${type} - 2\n`), 10_000, 'the second event');
      expect(stdout).toBe(`${first} ${type} - 1\n${second} ${type} - 2\n`);
    } finally {
      child.kill('SIGINT');
    }
  });

  it.each([
    ['builds', '$ infrabox builds --limit 10 --json'],
    ['logs', '--follow'],
    ['events', '$ infrabox events --channel job_finished'],
  ])('%s --help shows an example', async (command, example) => {
    const result = await cli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Examples:\n  $ infrabox ');
    expect(result.stdout).toContain(example);
  });
});
