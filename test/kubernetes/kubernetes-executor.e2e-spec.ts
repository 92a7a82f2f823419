import { projectToken } from '../support/auth';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Database } from '@infrabox/database';
import type { BuildDto, JobDto } from '@infrabox/jobs';
import { runAgent, runCli } from '../support/cli';
import { uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { FakeKubeApiServer } from '../support/fake-kube-api.server';
import { skopeo, writeOciImage } from '../support/docker-registry';
import { api, apiAs, consoleOf, RunningCluster, startCluster } from '../support/installation';
import { TestProcess } from '../support/processes';

/* eslint-disable @typescript-eslint/no-explicit-any -- pod specs as the fake holds them */

/**
 * A cluster (api, registry, scheduler as processes) whose scheduler runs jobs through the
 * Kubernetes executor against a fake Kubernetes API on loopback. The test plays each pod: it
 * runs the init and upload steps (the in-pod agent's `fetch-inputs` / `upload-output`, with the
 * token from the pod spec) and sets the pod's phases, as the kubelet would.
 */
describe('the Kubernetes executor against a fake Kubernetes API', () => {
  const name = `k8s${uniqueClusterName('')}`.slice(0, 40);
  const label = `K8S-${randomInt(1e9)}`;
  const fake = new FakeKubeApiServer();
  let cluster: RunningCluster;
  let db: Database;
  const extraSchedulers: TestProcess[] = [];
  /** The scheduler process running now (tests restart it). */
  const liveScheduler = () => extraSchedulers[extraSchedulers.length - 1] ?? cluster.processes[2];

  async function startScheduler(): Promise<TestProcess> {
    const started = new TestProcess('apps/scheduler/src/main.js', ['--config', cluster.configFile], {}, path.dirname(cluster.configFile));
    extraSchedulers.push(started);
    await started.waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, 'a restarted scheduler');
    return started;
  }

  beforeAll(async () => {
    await fake.start();
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-k8s-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, fake.kubeconfig('ci'));
    const scheduler = `scheduler:\n  executor: kubernetes\n  kubernetes:\n    namespace: ci\n    kubeconfig: ${kubeconfig}\n    helper_image: infrabox:test\n    ttl_seconds_after_finished: 120\n`;
    cluster = await startCluster(
      { name, labels: [label], extraConfig: scheduler, imageRegistry: true },
      {
        registry: { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2_000, sweepIntervalMs: 250, probeIntervalMs: 3_600_000, sweepLockKey: randomInt(1, 2 ** 47) },
        ha: { leaseSeconds: 2 },
      },
    );
    db = openDatabase(2);
  }, 90_000);

  afterAll(async () => {
    for (const p of extraSchedulers) p.kill();
    await Promise.all(extraSchedulers.map((p) => p.exited));
    await cluster?.stop();
    await db?.close();
    await fake.stop();
  });

  const job = (jobName: string, extra: Record<string, unknown> = {}) => ({
    name: jobName,
    type: 'docker-image',
    image: 'alpine:3.20',
    command: ['sh', '-c', 'echo hello'],
    cluster: { selector: [label] },
    ...extra,
  });

  async function push(jobs: unknown[]): Promise<BuildDto> {
    const response = await apiAs<BuildDto>(cluster.adminToken, cluster.apiUrl, 'POST', '/api/v1/projects/k8s/builds', { definition: { version: 1, jobs } });
    expect(response.status).toBe(201);
    return response.body;
  }

  const jobIdOf = (build: BuildDto, jobName: string) => build.jobs!.find((j) => j.name === jobName)!.id;

  async function podOf(jobId: string): Promise<any> {
    await eventually(() => fake.podOf(jobId) !== undefined, 20_000, `the pod of job ${jobId}`);
    return fake.podOf(jobId);
  }

  async function jobRow(jobId: string): Promise<JobDto> {
    return (await api<JobDto>(cluster.apiUrl, 'GET', `/api/v1/jobs/${jobId}`)).body;
  }

  async function ended(jobId: string): Promise<JobDto> {
    await eventually(async () => !['queued', 'scheduled', 'running'].includes((await jobRow(jobId)).state), 20_000, `job ${jobId} to end`);
    return jobRow(jobId);
  }

  /** The job's state and message as stored, and the job.finished event written with the end. */
  async function stored(jobId: string) {
    const [row] = await db.query<{ state: string; message: string | null; exit_code: number | null }>(
      'SELECT state, message, exit_code FROM job WHERE id = $1',
      [jobId],
    );
    const events = await db.query<{ state: string }>(`SELECT payload->>'state' AS state FROM event WHERE type = 'job.finished' AND payload->>'jobId' = $1`, [jobId]);
    return { ...row, finishedEvents: events.map((e) => e.state) };
  }

  const running = (n: string) => ({ name: n, image: n, imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: new Date().toISOString() } } });
  const terminated = (n: string, exitCode: number, message?: string) => ({
    name: n,
    image: n,
    imageID: '',
    ready: false,
    restartCount: 0,
    state: { terminated: { exitCode, message, reason: exitCode === 0 ? 'Completed' : 'Error' } },
  });

  /** A pod's shared emptyDir, in a temporary folder, and its containers' commands pointed at it. */
  async function podFolder(pod: any) {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-pod-'));
    const env = Object.fromEntries((pod.spec.initContainers[0].env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    // The job token Secret, mounted as the kubelet would: the pod spec itself holds no token.
    const tokenVolume = (pod.spec.volumes as Array<{ name: string; secret?: { secretName: string } }>).find((v) => v.name === 'job-token')!;
    await eventually(() => fake.secret(tokenVolume.secret!.secretName) !== undefined, 10_000, 'the job token Secret');
    const tokenFile = path.join(dir, '.job-token');
    await writeFile(tokenFile, Buffer.from((fake.secret(tokenVolume.secret!.secretName) as any).data.token, 'base64'));
    expect(env.INFRABOX_TOKEN_FILE).toBe('/var/run/secrets/infrabox/token');
    env.INFRABOX_TOKEN_FILE = tokenFile;
    const args = (container: any): string[] => {
      // The image's agent (deploy/Dockerfile puts the code in /app); here the checkout's build of it.
      expect((container.command as string[]).slice(0, 2)).toEqual(['node', '/app/dist/apps/agent/src/main.js']);
      return (container.command as string[]).slice(2).map((a) => a.replace(/^\/infrabox/, dir).replace('/dev/termination-log', path.join(dir, 'termination-log')));
    };
    return {
      dir,
      env,
      fetch: () => runAgent(args(pod.spec.initContainers[0]), { env }),
      upload: () => runAgent(args(pod.spec.containers.find((c: any) => c.name === 'upload-output')), { env }),
    };
  }

  /** Plays the pod through init, the job's command (`work`), upload and the end, with exit code `exit`. */
  async function playPod(jobId: string, exit: number, work: (dir: string) => Promise<void> = async () => undefined, log = '') {
    const pod = await podOf(jobId);
    const folder = await podFolder(pod);
    fake.setPodStatus(pod.metadata.name, { phase: 'Pending', initContainerStatuses: [running('fetch-inputs')] });
    const fetched = await folder.fetch();
    expect(fetched).toMatchObject({ code: 0 });
    fake.setPodStatus(pod.metadata.name, {
      phase: 'Running',
      initContainerStatuses: [terminated('fetch-inputs', 0)],
      containerStatuses: [running('job'), running('upload-output')],
    });
    if (log) fake.appendLog(pod.metadata.name, log);
    await work(folder.dir);
    await writeFile(path.join(folder.dir, '.exit'), `${exit}\n`);
    const uploaded = await folder.upload();
    expect(uploaded).toMatchObject({ code: 0 });
    fake.closeLog(pod.metadata.name);
    fake.setPodStatus(pod.metadata.name, {
      phase: exit === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [terminated('job', exit), terminated('upload-output', 0, await readFile(path.join(folder.dir, 'termination-log'), 'utf8'))],
    });
    return { pod, folder };
  }

  it('runs a chain: the output of one pod is the input of the next; states, exit codes, console and events land in the database', async () => {
    const build = await push([
      job('make', { timeout: 120, resources: { limits: { cpu: 0.5, memory: 256 } }, environment: { MODE: 'fast' } }),
      job('check', { depends_on: ['make'], command: ['sh', '-c', 'test -f $INFRABOX_INPUTS/make/result.txt'] }),
    ]);
    const make = jobIdOf(build, 'make');
    const check = jobIdOf(build, 'check');

    const pod = await podOf(make);
    const kubeJob = fake.job(`infrabox-${make}`)!;
    expect(kubeJob.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'infrabox',
      'infrabox.net/job-id': make,
      'infrabox.net/build-id': build.id,
      'infrabox.net/cluster': name,
    });
    expect(kubeJob.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 120, ttlSecondsAfterFinished: 120 });
    const main = pod.spec.containers[0];
    expect(main).toMatchObject({ name: 'job', image: 'alpine:3.20', resources: { limits: { cpu: '0.5', memory: '256Mi' } } });
    expect(main.env).toEqual(
      expect.arrayContaining([
        { name: 'MODE', value: 'fast' },
        { name: 'INFRABOX_JOB_ID', value: make },
        { name: 'INFRABOX_CLUSTER_NAME', value: name },
        { name: 'INFRABOX_OUTPUT', value: '/infrabox/output' },
      ]),
    );
    expect((await jobRow(make)).state).toBe('running');

    // The watch survives a compacted history: it gets 410 Gone, lists once again, and watches once again.
    const lists = (kind: string) => fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/${kind}`) && r.query.watch === undefined).length;
    const listsBefore = { pods: lists('pods'), jobs: lists('jobs') };
    fake.compact();
    fake.dropWatches();
    await eventually(() => lists('pods') > listsBefore.pods && lists('jobs') > listsBefore.jobs, 10_000, 'a re-list after 410 Gone');
    await eventually(() => fake.openWatches('pods') === 1 && fake.openWatches('jobs') === 1, 10_000, 'the watches open again');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect({ pods: lists('pods'), jobs: lists('jobs') }).toEqual({ pods: listsBefore.pods + 1, jobs: listsBefore.jobs + 1 });
    expect({ pods: fake.openWatches('pods'), jobs: fake.openWatches('jobs') }).toEqual({ pods: 1, jobs: 1 });

    await playPod(make, 0, async (dir) => writeFile(path.join(dir, 'output', 'result.txt'), 'built by make\n'), 'hello from make\n');
    const made = await ended(make);
    expect(made).toMatchObject({ state: 'finished', exitCode: 0 });
    expect(await consoleOf(cluster.apiUrl, make)).toBe('hello from make\n');

    // The child's init step gets the parent's output through the API, with the child's token.
    const checked = await playPod(check, 3, async (dir) => {
      expect(await readFile(path.join(dir, 'inputs', 'make', 'result.txt'), 'utf8')).toBe('built by make\n');
      await mkdir(path.join(dir, 'output', 'reports'), { recursive: true });
    });
    expect(checked.pod.spec.initContainers[0].command).toContain(`${make}=make`);
    expect(await ended(check)).toMatchObject({ state: 'failure', exitCode: 3, message: 'exit code 3' });
    expect(await stored(make)).toEqual({ state: 'finished', message: null, exit_code: 0, finishedEvents: ['finished'] });
    expect(await stored(check)).toEqual({ state: 'failure', message: 'exit code 3', exit_code: 3, finishedEvents: ['failure'] });
    const [output] = await db.query<{ size_bytes: string }>('SELECT size_bytes FROM job_output WHERE job_id = $1', [make]);
    expect(Number(output.size_bytes)).toBeGreaterThan(0);
  }, 60_000);

  it("fetches the build's pushed source into the pod's context folder", async () => {
    const project = `k8s${randomInt(1e9)}`;
    const token = await projectToken(`${project}`);
    const source = await mkdtemp(path.join(tmpdir(), 'infrabox-k8s-source-'));
    await mkdir(path.join(source, 'src'));
    await writeFile(path.join(source, 'src', 'hello.txt'), 'hello from the source\n');
    await writeFile(path.join(source, 'infrabox.json'), JSON.stringify({ version: 1, jobs: [job('from-source', { command: ['cat', 'src/hello.txt'] })] }));
    const pushed = await runCli(['push', source, '--api', cluster.apiUrl, '--project', project, '--token', token, '--json']);
    expect(pushed).toMatchObject({ code: 0 });
    const { buildId } = JSON.parse(pushed.stdout) as { buildId: string };
    const [only] = (await api<BuildDto>(cluster.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.jobs!;
    const pod = await podOf(only.id);
    expect(pod.spec.initContainers[0].command).toContain('--source');
    await playPod(only.id, 0, async (dir) => {
      expect(await readFile(path.join(dir, 'context', 'src', 'hello.txt'), 'utf8')).toBe('hello from the source\n');
    });
    expect(await ended(only.id)).toMatchObject({ state: 'finished', exitCode: 0 });
  }, 30_000);

  it("builds a docker job's image in its pod (BuildKit), pushing with credentials from a Secret its Job owns that the token service takes; the build log is the console; a failed build ends in error", async () => {
    const docker = (jobName: string, extra: Record<string, unknown> = {}) => ({ name: jobName, type: 'docker', docker_file: 'Dockerfile', cluster: { selector: [label] }, ...extra });
    const build = await push([
      docker('img'),
      docker('broken', { build_only: false, command: ['true'] }),
      job('runs-img', { image: { job: 'img' }, depends_on: ['img'] }),
    ]);
    const img = jobIdOf(build, 'img');
    const broken = jobIdOf(build, 'broken');

    const pod = await podOf(img);
    expect(pod.spec.initContainers.map((c: any) => c.name)).toEqual(['fetch-inputs', 'build-image']);
    expect(pod.spec.containers.map((c: any) => c.name)).toEqual(['upload-output']); // build_only, InfraBox's default
    const output: string = pod.spec.initContainers[1].args.at(-1);
    const pushed = /^type=image,name=([^/]+)\/k8s\/img:build_(\d+),push=true,registry\.insecure=true$/.exec(output);
    expect(pushed).not.toBeNull();
    const [, registryHost, buildNumber] = pushed!;
    expect(Number(buildNumber)).toBe(build.number);

    // The Secret: owned by the Kubernetes Job, a docker config.json for this cluster's registry
    // whose password the cluster's registry token service takes for a push to the job's project.
    await eventually(() => fake.secret(`infrabox-${img}-registry`) !== undefined, 10_000, 'the registry Secret');
    const secret = fake.secret(`infrabox-${img}-registry`)!;
    expect(secret.metadata.ownerReferences).toEqual([{ apiVersion: 'batch/v1', kind: 'Job', name: `infrabox-${img}`, uid: fake.job(`infrabox-${img}`)!.metadata.uid }]);
    expect(pod.spec.volumes).toContainEqual({ name: 'registry-auth', secret: { secretName: secret.metadata.name, items: [{ key: '.dockerconfigjson', path: 'config.json' }] } });
    const auths = JSON.parse(Buffer.from((secret as any).data['.dockerconfigjson'], 'base64').toString()).auths;
    expect(Object.keys(auths)).toEqual([registryHost]);
    const scope = `repository:k8s/img:push,pull`;
    const granted = await fetch(`${cluster.apiUrl}/api/v1/registry/token?service=${name}&scope=${encodeURIComponent(scope)}`, {
      headers: { authorization: `Basic ${auths[registryHost].auth}` },
    });
    expect(granted.status).toBe(200);
    const { token } = (await granted.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { access: unknown };
    expect(claims.access).toEqual([{ type: 'repository', name: 'k8s/img', actions: expect.arrayContaining(['push', 'pull']) }]);

    // The kubelet's part: fetch, build (its log is the console; BuildKit's push is played by
    // skopeo, with the Secret's credentials, into the cluster's real registry), upload.
    expect(registryHost).toBe(cluster.imageRegistry!.host);
    const folder = await podFolder(pod);
    fake.setPodStatus(pod.metadata.name, { phase: 'Pending', initContainerStatuses: [running('fetch-inputs')] });
    expect(await folder.fetch()).toMatchObject({ code: 0 });
    fake.setPodStatus(pod.metadata.name, { initContainerStatuses: [terminated('fetch-inputs', 0), running('build-image')] });
    fake.appendLog(pod.metadata.name, '#1 [internal] load build definition from Dockerfile\n', 'build-image');
    const password = Buffer.from(auths[registryHost].auth, 'base64').toString().split(':').slice(1).join(':');
    const imageDir = await writeOciImage(await mkdtemp(path.join(tmpdir(), 'k8s-built-')), 'built by BuildKit\n');
    const copied = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `infrabox:${password}`, `oci:${imageDir}:latest`, `docker://${registryHost}/k8s/img:build_${buildNumber}`], folder.dir);
    expect(copied).toMatchObject({ code: 0 });
    fake.closeLog(pod.metadata.name, 'build-image');
    expect(await folder.upload()).toMatchObject({ code: 0 });
    fake.setPodStatus(pod.metadata.name, {
      phase: 'Succeeded',
      initContainerStatuses: [terminated('fetch-inputs', 0), terminated('build-image', 0)],
      containerStatuses: [terminated('upload-output', 0, await readFile(path.join(folder.dir, 'termination-log'), 'utf8'))],
    });
    expect(await ended(img)).toMatchObject({ state: 'finished', exitCode: 0 });
    // Recorded with the digest the registry gives it; the child runs it by that digest, pulled with its own Secret.
    const [image] = await db.query<{ digest: string; repository: string; tag: string }>('SELECT digest, repository, tag FROM job_image WHERE job_id = $1 AND cluster_name = $2', [img, name]);
    expect(image).toEqual({ digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), repository: 'k8s/img', tag: `build_${buildNumber}` });
    expect(await consoleOf(cluster.apiUrl, img)).toBe(`#1 [internal] load build definition from Dockerfile\npushed ${registryHost}/k8s/img:build_${buildNumber}@${image.digest}\n`);
    const runsImg = jobIdOf(build, 'runs-img');
    const childPod = await podOf(runsImg);
    expect(childPod.spec.containers[0].image).toBe(`${registryHost}/k8s/img@${image.digest}`);
    expect(childPod.spec.imagePullSecrets).toEqual([{ name: `infrabox-${runsImg}-registry` }]);
    await playPod(runsImg, 0);
    expect(await ended(runsImg)).toMatchObject({ state: 'finished' });

    const brokenPod = await podOf(broken);
    expect(brokenPod.spec.containers[0]).toMatchObject({ name: 'job', image: `${registryHost}/k8s/broken:build_${build.number}`, imagePullPolicy: 'Always' });
    expect(brokenPod.spec.imagePullSecrets).toEqual([{ name: `infrabox-${broken}-registry` }]);
    fake.setPodStatus(brokenPod.metadata.name, {
      phase: 'Failed',
      initContainerStatuses: [terminated('fetch-inputs', 0), terminated('build-image', 1, 'error: failed to solve: dockerfile parse error on line 1: unknown instruction: FORM')],
      containerStatuses: [{ ...running('job'), state: { waiting: { reason: 'PodInitializing' } } }],
    });
    expect(await ended(broken)).toMatchObject({
      state: 'error',
      message: 'building the image failed (exit code 1): error: failed to solve: dockerfile parse error on line 1: unknown instruction: FORM',
    });
    expect((await stored(broken)).finishedEvents).toEqual(['error']);
  }, 60_000);

  it('ends a job whose deadline passed in error "timed out"', async () => {
    const build = await push([job('slow', { timeout: 30 })]);
    const id = jobIdOf(build, 'slow');
    const pod = await podOf(id);
    fake.setPodStatus(pod.metadata.name, { phase: 'Running', containerStatuses: [running('job'), running('upload-output')] });
    fake.exceedDeadline(`infrabox-${id}`);
    expect(await ended(id)).toMatchObject({ state: 'error', message: 'timed out after 30 s' });
    expect((await stored(id)).finishedEvents).toEqual(['error']);
  }, 30_000);

  it('ends a job whose image cannot be pulled in error with the reason, and deletes its Kubernetes Job', async () => {
    const build = await push([job('nope', { image: 'registry.invalid/nope:1' })]);
    const id = jobIdOf(build, 'nope');
    const pod = await podOf(id);
    fake.setPodStatus(pod.metadata.name, {
      initContainerStatuses: [terminated('fetch-inputs', 0)],
      containerStatuses: [{ ...running('job'), image: 'registry.invalid/nope:1', state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "registry.invalid/nope:1"' } } }],
    });
    expect(await ended(id)).toMatchObject({
      state: 'error',
      message: 'cannot pull image registry.invalid/nope:1: ImagePullBackOff: Back-off pulling image "registry.invalid/nope:1"',
    });
    expect(fake.job(`infrabox-${id}`)).toBeUndefined();
    expect(fake.requests).toContainEqual(expect.objectContaining({ method: 'DELETE', path: `/apis/batch/v1/namespaces/ci/jobs/infrabox-${id}`, query: expect.objectContaining({ propagationPolicy: 'Background' }) }));
  }, 30_000);

  it('ends a running job whose pod vanished in error "pod vanished"', async () => {
    const build = await push([job('ghost')]);
    const id = jobIdOf(build, 'ghost');
    const pod = await podOf(id);
    fake.setPodStatus(pod.metadata.name, { phase: 'Running', containerStatuses: [running('job'), running('upload-output')] });
    fake.deletePod(pod.metadata.name);
    expect(await ended(id)).toMatchObject({ state: 'error', message: 'pod vanished' });
    expect((await stored(id)).finishedEvents).toEqual(['error']);
  }, 30_000);

  it('aborts a running job by deleting its Kubernetes Job (propagationPolicy Background)', async () => {
    const build = await push([job('stopme')]);
    const id = jobIdOf(build, 'stopme');
    const pod = await podOf(id);
    fake.setPodStatus(pod.metadata.name, { phase: 'Running', containerStatuses: [running('job'), running('upload-output')] });
    await eventually(async () => (await jobRow(id)).state === 'running', 10_000, 'running');
    expect((await apiAs(cluster.adminToken, cluster.apiUrl, 'POST', `/api/v1/jobs/${id}/abort`)).status).toBe(200);
    expect(await ended(id)).toMatchObject({ state: 'killed', message: 'aborted' });
    expect(fake.requests).toContainEqual(expect.objectContaining({ method: 'DELETE', path: `/apis/batch/v1/namespaces/ci/jobs/infrabox-${id}`, query: expect.objectContaining({ propagationPolicy: 'Background' }) }));
    expect(fake.podOf(id)).toBeUndefined();
  }, 30_000);

  it('re-attaches to a running pod after a scheduler restart, and fails one that vanished meanwhile', async () => {
    const build = await push([job('survivor'), job('lost')]);
    const survivor = jobIdOf(build, 'survivor');
    const lost = jobIdOf(build, 'lost');
    const pod = await podOf(survivor);
    await podOf(lost);
    fake.setPodStatus(pod.metadata.name, { phase: 'Running', initContainerStatuses: [terminated('fetch-inputs', 0)], containerStatuses: [running('job'), running('upload-output')] });
    fake.appendLog(pod.metadata.name, 'before the restart\n');
    await eventually(async () => (await consoleOf(cluster.apiUrl, survivor)) === 'before the restart\n', 10_000, 'the first console line');

    const scheduler = liveScheduler();
    scheduler.kill('SIGTERM');
    await scheduler.exited;
    expect((await jobRow(survivor)).state).toBe('running');
    expect(fake.job(`infrabox-${survivor}`)).toBeDefined();
    fake.appendLog(pod.metadata.name, 'while no scheduler watched\n');
    fake.deleteJob(`infrabox-${lost}`);
    fake.compact();

    await startScheduler();
    expect(await ended(lost)).toMatchObject({ state: 'error', message: 'pod vanished' });

    fake.appendLog(pod.metadata.name, 'after the restart\n');
    fake.closeLog(pod.metadata.name);
    fake.setPodStatus(pod.metadata.name, {
      phase: 'Succeeded',
      containerStatuses: [terminated('job', 0), terminated('upload-output', 0, JSON.stringify({ stored: false, size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }))],
    });
    expect(await ended(survivor)).toMatchObject({ state: 'finished', exitCode: 0 });
    expect(await consoleOf(cluster.apiUrl, survivor)).toBe('before the restart\nwhile no scheduler watched\nafter the restart\n');
    expect((await stored(survivor)).finishedEvents).toEqual(['finished']);
  }, 60_000);

  it('adopts the pods of a scheduler that was killed once its lease has passed, instead of failing its jobs', async () => {
    const build = await push([job('orphan')]);
    const id = jobIdOf(build, 'orphan');
    const pod = await podOf(id);
    fake.setPodStatus(pod.metadata.name, { phase: 'Running', initContainerStatuses: [terminated('fetch-inputs', 0)], containerStatuses: [running('job'), running('upload-output')] });
    fake.appendLog(pod.metadata.name, 'before the kill\n');
    await eventually(async () => (await consoleOf(cluster.apiUrl, id)) === 'before the kill\n', 10_000, 'the first console line');
    const [{ runner_id: killedRunner }] = await db.query<{ runner_id: string }>('SELECT runner_id FROM job WHERE id = $1', [id]);

    const killed = liveScheduler();
    killed.kill('SIGKILL');
    await killed.exited;
    await startScheduler();
    // The killed runner's lease (2 s) passes, the recovery takes it, and the new scheduler adopts the job.
    await eventually(
      async () => (await db.query<{ runner_id: string | null }>('SELECT runner_id FROM job WHERE id = $1', [id]))[0].runner_id !== killedRunner,
      20_000,
      'the job adopted by the new scheduler',
    );
    expect((await jobRow(id)).state).toBe('running');

    fake.appendLog(pod.metadata.name, 'after the kill\n');
    fake.closeLog(pod.metadata.name);
    fake.setPodStatus(pod.metadata.name, {
      phase: 'Failed',
      containerStatuses: [terminated('job', 1), terminated('upload-output', 0, JSON.stringify({ stored: false, size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' }))],
    });
    expect(await ended(id)).toMatchObject({ state: 'failure', exitCode: 1, message: 'exit code 1' });
    expect(await consoleOf(cluster.apiUrl, id)).toBe('before the kill\nafter the kill\n');
    expect((await stored(id)).finishedEvents).toEqual(['failure']);
  }, 60_000);
});
