import { projectToken } from '../support/auth';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Database } from '@infrabox/database';
import type { BuildDto, JobDto } from '@infrabox/jobs';
import { runCli } from '../support/cli';
import { liveRegistryOptions, uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { TestProcess } from '../support/processes';
import { api, apiAs, consoleOf, onlyTheseActive, RunningCluster, settledJobs, startCluster } from '../support/installation';

/**
 * The container executor against a real engine: Podman's Docker API (the run's DOCKER_HOST,
 * test/support/global-setup.mjs), runc, and base images built offline from busybox
 * (docker.io/library/busybox, docker.io/library/alpine:3.20). A master and two workers as
 * separate processes, each worker with its own docker-registry (its api the token service);
 * jobs run in their image with only their folders, and the images docker jobs build travel from
 * one cluster's registry to the other's.
 */
describe('the container executor (Podman, separate processes)', () => {
  const suffix = uniqueClusterName('');
  const names = { master: `master${suffix}`, a: `ctr-a${suffix}`, b: `ctr-b${suffix}` };
  const labels = { a: `ctr-a${suffix}`, b: `ctr-b${suffix}` };
  const registry = liveRegistryOptions({ heartbeatTimeoutMs: 2_000 });
  const HOST_SECRET = `host-secret-${suffix}`;
  const CONTAINER = 'scheduler:\n  executor: container\n';
  let master: RunningCluster;
  let a: RunningCluster;
  let b: RunningCluster;
  let db: Database;

  beforeAll(async () => {
    db = openDatabase(2);
    const env = { INFRABOX_TEST_HOST_SECRET: HOST_SECRET };
    [master, a, b] = await Promise.all([
      startCluster({ name: names.master, extraConfig: CONTAINER }, { registry, env }),
      startCluster({ name: names.a, labels: [labels.a], extraConfig: CONTAINER, imageRegistry: true }, { registry, env, forwarder: true, ha: { leaseSeconds: 2 } }),
      startCluster({ name: names.b, labels: [labels.b], extraConfig: CONTAINER, imageRegistry: true }, { registry, env, forwarder: true }),
    ]);
    await onlyTheseActive(master.apiUrl, Object.values(names));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([master, a, b].filter(Boolean).map((c) => c.stop()));
    await db?.close();
  });

  const forwarderLog = (cluster: RunningCluster) => cluster.processes.find((p) => p.script.includes('output-forwarder'))!.lines.join('\n');

  /** The clusters whose registry holds the image job `jobId` built. */
  async function imageCopies(jobId: string): Promise<Array<{ cluster: string; digest: string }>> {
    return db.query('SELECT cluster_name AS cluster, digest FROM job_image WHERE job_id = $1 ORDER BY cluster_name', [jobId]);
  }

  const job = (name: string, on: keyof typeof labels, command: string, extra: Record<string, unknown> = {}) => ({
    name,
    type: 'docker-image',
    image: 'alpine:3.20',
    command: ['sh', '-c', command],
    cluster: { selector: [labels[on]] },
    ...extra,
  });

  async function push(jobs: unknown[]): Promise<BuildDto> {
    const response = await apiAs<BuildDto>(master.adminToken, master.apiUrl, 'POST', `/api/v1/projects/containers${suffix.replace(/[^a-z0-9]/g, '')}/builds`, { definition: { version: 1, jobs } });
    expect(response.status).toBe(201);
    return response.body;
  }

  /** The engine's containers of a cluster (running or not). */
  function containersOf(cluster: string): string[] {
    const out = execFileSync('podman', ['ps', '-a', '-q', '--filter', `label=infrabox.net/cluster=${cluster}`], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean);
  }

  /** What is left in a cluster's work folders (the scheduler's cwd is the cluster's folder). */
  async function workFolders(cluster: RunningCluster): Promise<string[]> {
    return readdir(path.join(path.dirname(cluster.configFile), '.infrabox', 'work', cluster.name)).catch(() => []);
  }

  it("runs a job in its image with only its folders, its environment and a memory limit; a child on another cluster reads the parent's output", async () => {
    const probe = [
      'echo "os: $(grep ^NAME= /etc/os-release)"',
      'echo "sandbox: $(ls /infrabox | tr "\\n" " ")"',
      `echo "host folder: $(test -e ${path.dirname(a.configFile)} && echo visible || echo absent)"`,
      'echo "host env: ${INFRABOX_TEST_HOST_SECRET:-none}"',
      'echo "own env: $GREETING"',
      'echo "job: $INFRABOX_JOB_NAME on $INFRABOX_CLUSTER_NAME, output $INFRABOX_OUTPUT"',
      'echo "memory: $(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
      'echo "pwd: $(pwd)"',
      'echo "parent $INFRABOX_CLUSTER_NAME" > "$INFRABOX_OUTPUT/made.txt"',
    ].join('; ');
    const build = await push([
      job('parent', 'a', probe, { environment: { GREETING: 'hello' }, resources: { limits: { cpu: 0.5, memory: 300 } } }),
      job('child', 'b', 'cat /infrabox/inputs/parent/made.txt; ls /infrabox/inputs', { depends_on: ['parent'] }),
    ]);
    const jobs = await settledJobs(master.apiUrl, build.id, 90_000);
    const parent = jobs.get('parent')!;
    const child = jobs.get('child')!;
    const parentLog = await consoleOf(master.apiUrl, parent.id);
    expect([parent.state, parent.message, parentLog]).toEqual(['finished', null, expect.any(String)]);
    expect(parentLog).toContain('os: NAME="InfraBox test image (busybox)"'); // the image's files, not the host's
    expect(parentLog).toContain('sandbox: cache context inputs output upload ');
    expect(parentLog).toContain('host folder: absent');
    expect(parentLog).toContain('host env: none');
    expect(parentLog).toContain('own env: hello');
    expect(parentLog).toContain(`job: parent on ${names.a}, output /infrabox/output`);
    expect(parentLog).toContain(`memory: ${300 * 1024 * 1024}`);
    expect(parentLog).toContain('pwd: /infrabox/context');
    expect(child.state).toBe('finished');
    expect(child.cluster).toBe(names.b);
    expect(await consoleOf(master.apiUrl, child.id)).toContain(`parent ${names.a}\nparent`);
    // Nothing left behind: no container, no job folder.
    await eventually(async () => containersOf(names.a).length === 0 && containersOf(names.b).length === 0, 10_000, 'containers removed');
    expect(await workFolders(a)).toEqual([]);
    expect(await workFolders(b)).toEqual([]);
  }, 120_000);

  it('a timeout and an abort end the container; neither leaves a container or a folder', async () => {
    const build = await push([job('slow', 'a', 'echo started; sleep 120', { timeout: 3 }), job('aborted', 'b', 'echo started; sleep 120')]);
    const aborted = build.jobs!.find((j) => j.name === 'aborted')!;
    await eventually(async () => (await consoleOf(master.apiUrl, aborted.id)).includes('started'), 60_000, 'the job to start');
    const startedAt = Date.now();
    expect((await apiAs<JobDto>(master.adminToken, master.apiUrl, 'POST', `/api/v1/jobs/${aborted.id}/abort`)).status).toBe(200);
    const jobs = await settledJobs(master.apiUrl, build.id, 60_000);
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect([jobs.get('slow')!.state, jobs.get('slow')!.message]).toEqual(['error', 'timed out after 3 s']);
    expect([jobs.get('aborted')!.state, jobs.get('aborted')!.message]).toEqual(['killed', 'aborted']);
    await eventually(async () => containersOf(names.a).length === 0 && containersOf(names.b).length === 0, 10_000, 'containers removed');
    expect(await workFolders(a)).toEqual([]);
    expect(await workFolders(b)).toEqual([]);
  }, 120_000);

  it("names the pull's error, refuses privileged jobs, and runs the image's own command when the job has none", async () => {
    const build = await push([
      { ...job('unpullable', 'a', 'true'), image: '127.0.0.1:1/nowhere/none:1' },
      job('privileged', 'a', 'true', { security_context: { privileged: true } }),
      { name: 'entrypoint', type: 'docker-image', image: 'docker.io/library/busybox:latest', cluster: { selector: [labels.b] } },
      job('failing', 'b', 'echo bad >&2; exit 3'),
    ]);
    const jobs = await settledJobs(master.apiUrl, build.id, 60_000);
    expect(jobs.get('unpullable')!.state).toBe('error');
    expect(jobs.get('unpullable')!.message).toMatch(/^pulling image '127\.0\.0\.1:1\/nowhere\/none:1' failed: .+/);
    expect(jobs.get('privileged')!.state).toBe('error');
    expect(jobs.get('privileged')!.message).toContain('security_context.privileged is not allowed on cluster');
    expect([jobs.get('entrypoint')!.state, jobs.get('entrypoint')!.exitCode, jobs.get('entrypoint')!.message]).toEqual(['finished', 0, null]);
    expect([jobs.get('failing')!.state, jobs.get('failing')!.exitCode, jobs.get('failing')!.message]).toEqual(['failure', 3, 'exit code 3']);
    expect(await consoleOf(master.apiUrl, jobs.get('failing')!.id)).toContain('bad');
    expect(await workFolders(a)).toEqual([]);
  }, 120_000);

  it('builds a docker job’s image from the pushed source (arguments, target, build_only) and runs it; children on the other cluster read its output and run its image; a broken Dockerfile is named', async () => {
    const project = `docker${suffix.replace(/[^a-z0-9]/g, '')}`;
    const token = await projectToken(`${project}`);
    const dir = await mkdtemp(path.join(tmpdir(), 'docker-job-'));
    await mkdir(path.join(dir, 'app'));
    await writeFile(path.join(dir, 'app', 'hello.txt'), 'hello from the source\n');
    await writeFile(
      path.join(dir, 'Dockerfile'),
      'FROM alpine:3.20 AS base\nARG GREETING=none\nRUN echo "built with $GREETING" > /built.txt\nCOPY app/hello.txt /hello.txt\nFROM base AS final\nRUN echo final > /final.txt\n',
    );
    await writeFile(path.join(dir, 'Broken.Dockerfile'), 'FROM alpine:3.20\nRUN echo breaking; exit 7\n');
    const docker = (name: string, extra: object) => ({ name, type: 'docker', docker_file: 'Dockerfile', cluster: { selector: [labels.a] }, ...extra });
    await writeFile(
      path.join(dir, 'infrabox.json'),
      JSON.stringify({
        version: 1,
        jobs: [
          docker('img', {
            build_arguments: { GREETING: 'hello' },
            build_only: false,
            command: ['sh', '-c', 'cat /built.txt /hello.txt; ls /final.txt; cp /built.txt "$INFRABOX_OUTPUT/"'],
          }),
          docker('base-only', { target: 'base' }),
          docker('broken', { docker_file: 'Broken.Dockerfile', build_only: false }),
          job('reader', 'b', 'cat /infrabox/inputs/img/built.txt', { depends_on: ['img'] }),
          // The image img built, run by a job on the other cluster: copied from a's registry to b's.
          { ...job('runs-img', 'b', 'cat /built.txt /hello.txt'), image: { job: 'img' }, depends_on: ['img'] },
        ],
      }),
    );
    const pushed = await runCli(['push', dir, '--api', master.apiUrl, '--project', project, '--token', token, '--follow']);
    const buildId = pushed.stdout.split('\n')[0]!;
    expect(buildId).toMatch(/^[0-9a-f-]{36}$/);
    const jobs = await settledJobs(master.apiUrl, buildId, 120_000);
    const img = jobs.get('img')!;
    expect([img.state, img.message]).toEqual(['finished', null]);
    const imgLog = await consoleOf(master.apiUrl, img.id);
    const registryHost = a.imageRegistry!.host;
    const buildNumber = (await api<{ number: number }>(master.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.number;
    expect(imgLog).toContain(`building ${registryHost}/${project}/img:build_${buildNumber}\n`);
    expect(imgLog).toContain('built with hello\nhello from the source\n/final.txt\n');
    // Pushed to cluster a's registry, with the job's own token; the digest is recorded.
    const digest = /pushed \S+@(sha256:[0-9a-f]{64})/.exec(imgLog)?.[1];
    expect(imgLog).toContain(`pushing ${registryHost}/${project}/img:build_${buildNumber}\n`);
    expect(digest).toBeDefined();
    const baseOnly = jobs.get('base-only')!;
    expect([baseOnly.state, baseOnly.exitCode]).toEqual(['finished', 0]);
    expect(await consoleOf(master.apiUrl, baseOnly.id)).not.toContain('final.txt'); // the build stopped at the target stage; build_only ran nothing
    const broken = jobs.get('broken')!;
    expect(broken.state).toBe('error');
    expect(broken.message).toMatch(/^building the image of job 'broken' failed: .*exit status 7/);
    expect(await consoleOf(master.apiUrl, broken.id)).toContain('breaking');
    expect(jobs.get('reader')!.state).toBe('finished');
    expect(await consoleOf(master.apiUrl, jobs.get('reader')!.id)).toBe('built with hello\n');
    // The child on b ran the image from b's own registry, pulled there from a's by b's forwarder, same digest.
    const runsImg = jobs.get('runs-img')!;
    expect([runsImg.state, runsImg.cluster, runsImg.message]).toEqual(['finished', names.b, null]);
    expect(await consoleOf(master.apiUrl, runsImg.id)).toBe('built with hello\nhello from the source\n');
    expect(await imageCopies(img.id)).toEqual([{ cluster: names.a, digest }, { cluster: names.b, digest }].sort((x, y) => x.cluster.localeCompare(y.cluster)));
    expect(forwarderLog(b)).toMatch(new RegExp(`job ${img.id}: image ${project}/img:build_${buildNumber} \\(sha256:[0-9a-f]{12}…\\) pulled from ${names.a}: \\d+ blob\\(s\\) sent`));

    // b cannot reach a: a's forwarder pushes the next build's image into b's registry, sending
    // only what b's repository lacks (the base layers came with the first build).
    await db.query(
      `INSERT INTO cluster_reachability (from_cluster, to_cluster, reachable, rtt_ms, error) VALUES ($1, $2, true, 1, NULL), ($2, $1, false, NULL, 'firewall')
       ON CONFLICT (from_cluster, to_cluster) DO UPDATE SET reachable = excluded.reachable, error = excluded.error`,
      [names.a, names.b],
    );
    try {
      await writeFile(path.join(dir, 'Dockerfile'), 'FROM alpine:3.20\nRUN echo second > /second.txt\n');
      await writeFile(
        path.join(dir, 'infrabox.json'),
        JSON.stringify({ version: 1, jobs: [docker('img', { build_only: true }), { ...job('runs-img', 'b', 'cat /second.txt'), image: { job: 'img' }, depends_on: ['img'] }] }),
      );
      const second = (await runCli(['push', dir, '--api', master.apiUrl, '--project', project, '--token', token, '--follow'])).stdout.split('\n')[0]!;
      const secondJobs = await settledJobs(master.apiUrl, second, 120_000);
      const secondImg = secondJobs.get('img')!;
      expect([secondImg.state, secondJobs.get('runs-img')!.state]).toEqual(['finished', 'finished']);
      expect(await consoleOf(master.apiUrl, secondJobs.get('runs-img')!.id)).toBe('second\n');
      const pushedLine = forwarderLog(a).split('\n').find((l) => l.includes(`job ${secondImg.id}: image`));
      expect(pushedLine).toMatch(new RegExp(`pushed to ${names.b}: \\d+ blob\\(s\\) sent \\([^)]+\\), [1-9]\\d* already there`));
      expect(forwarderLog(b)).not.toContain(`job ${secondImg.id}: image`);
      expect((await imageCopies(secondImg.id)).map((c) => c.cluster)).toEqual([names.a, names.b].sort());
    } finally {
      await db.query('DELETE FROM cluster_reachability WHERE from_cluster IN ($1, $2) AND to_cluster IN ($1, $2)', [names.a, names.b]);
    }
    expect(containersOf(names.a)).toEqual([]);
    expect(await workFolders(a)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
    // The images built stay on the engine (as a build cache would); this test's go.
    const built = execFileSync('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { encoding: 'utf8' }).split('\n').filter((i) => i.includes(`/${project}/`));
    if (built.length > 0) execFileSync('podman', ['rmi', '--force', ...built], { stdio: 'ignore' });
  }, 180_000);

  it('a scheduler killed while its job runs: the job ends in error, and its container and folders are removed', async () => {
    const build = await push([job('orphaned', 'a', 'echo started; sleep 300')]);
    const orphaned = build.jobs![0]!;
    await eventually(async () => (await consoleOf(master.apiUrl, orphaned.id)).includes('started'), 60_000, 'the job to start');
    expect(containersOf(names.a)).toHaveLength(1);
    const scheduler = a.processes.find((p) => p.script === 'apps/scheduler/src/main.js')!;
    process.kill(scheduler.pid, 'SIGKILL');
    await scheduler.exited;
    expect(containersOf(names.a)).toHaveLength(1); // the engine's container goes on without it
    const replacement = new TestProcess('apps/scheduler/src/main.js', ['--config', a.configFile], { INFRABOX_TEST_HOST_SECRET: HOST_SECRET }, path.dirname(a.configFile));
    a.processes.push(replacement);
    const jobs = await settledJobs(master.apiUrl, build.id, 60_000);
    expect(jobs.get('orphaned')!.state).toBe('error');
    expect(jobs.get('orphaned')!.message).toMatch(/^the scheduler running it was lost: runner /);
    await eventually(async () => containersOf(names.a).length === 0, 20_000, 'the orphaned container removed');
    await eventually(async () => (await workFolders(a)).length === 0, 10_000, 'its folders removed'); // after the container
    expect(containersOf(names.a)).toEqual([]);
  }, 120_000);

  it('says in its log where jobs run', () => {
    const lines = a.processes.flatMap((p) => p.lines);
    expect(lines.some((l) => l.includes(`jobs run in containers on ${process.env.DOCKER_HOST}`))).toBe(true);
  });
});
