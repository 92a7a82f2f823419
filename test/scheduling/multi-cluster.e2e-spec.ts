import { randomInt } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BuildDto, JobDto } from '@infrabox/jobs';
import { uniqueClusterName } from '../support/clusters';
import { eventually } from '../support/database';
import { api, apiAs, onlyTheseActive, RunningCluster, startCluster } from '../support/installation';

/**
 * A master and two workers in the seed's shape, each as separate api, registry and scheduler
 * processes on one PostgreSQL.
 */
describe('scheduling across a master and two workers (separate processes)', () => {
  const suffix = uniqueClusterName('');
  const names = { master: `master${suffix}`, gcp: `worker-gcp${suffix}`, aws: `worker-aws${suffix}`, secure: `worker-secure${suffix}` };
  const registry = {
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 2_000,
    sweepIntervalMs: 250,
    probeIntervalMs: 3_600_000,
    sweepLockKey: randomInt(1, 2 ** 47),
  };
  const runsLog = path.join(tmpdir(), `infrabox-runs-${suffix}.log`);
  let master: RunningCluster;
  let gcp: RunningCluster;
  let aws: RunningCluster;
  let secure: RunningCluster;

  beforeAll(async () => {
    [master, gcp, aws, secure] = await Promise.all([
      startCluster({ name: names.master }, { registry }),
      startCluster({ name: names.gcp, labels: ['my-worker', 'GCP'] }, { registry }),
      startCluster({ name: names.aws, labels: ['AWS'] }, { registry, schedulers: 2 }),
      // Protected: it runs the jobs of this suite's project only.
      startCluster({ name: names.secure, labels: ['SECURE'], projects: ['scheduling'] }, { registry }),
    ]);
    // Clusters left registered by other test files are swept as lost before we place anything.
    await onlyTheseActive(master.apiUrl, Object.values(names));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([master, gcp, aws, secure].filter(Boolean).map((c) => c.stop()));
    await rm(runsLog, { force: true });
  });

  const job = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    type: 'docker-image',
    image: 'alpine',
    // Each run appends its job id outside the database, so double runs show up.
    command: ['sh', '-c', `echo "$INFRABOX_JOB_ID $INFRABOX_CLUSTER_NAME" >> ${runsLog}; echo ran on $INFRABOX_CLUSTER_NAME`],
    ...extra,
  });

  async function push(jobs: unknown[], project = 'scheduling'): Promise<BuildDto> {
    const response = await apiAs<BuildDto>(master.adminToken, master.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition: { version: 1, jobs } });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function settled(buildId: string, timeoutMs = 60_000): Promise<JobDto[]> {
    let jobs: JobDto[] = [];
    await eventually(async () => {
      jobs = (await api<BuildDto>(master.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.jobs!;
      return jobs.every((j) => ['finished', 'failure', 'error', 'killed', 'skipped', 'unstable'].includes(j.state));
    }, timeoutMs, `build ${buildId} to end`);
    return jobs;
  }

  async function runs(): Promise<Map<string, string[]>> {
    const text = await readFile(runsLog, 'utf8').catch(() => '');
    const byJob = new Map<string, string[]>();
    for (const line of text.split('\n').filter(Boolean)) {
      const [jobId, cluster] = line.split(' ');
      byJob.set(jobId, [...(byJob.get(jobId) ?? []), cluster]);
    }
    return byJob;
  }

  it("runs the seed's job with selector GCP only on the GCP worker, 50 times out of 50", async () => {
    const builds = await Promise.all(Array.from({ length: 50 }, () => push([job('my-job', { cluster: { selector: ['GCP'] } })])));
    const jobs = (await Promise.all(builds.map((b) => settled(b.id)))).flat();
    expect(jobs).toHaveLength(50);
    expect(jobs.map((j) => `${j.state}@${j.cluster}`)).toEqual(Array(50).fill(`finished@${names.gcp}`));
    const executed = await runs();
    for (const j of jobs) expect(executed.get(j.id)).toEqual([names.gcp]);
  }, 180_000);

  it('spreads jobs without a selector over the clusters', async () => {
    const build = await push(Array.from({ length: 9 }, (_, i) => job(`j${i}`)));
    const jobs = await settled(build.id);
    expect(jobs.every((j) => j.state === 'finished')).toBe(true);
    expect(new Set(jobs.map((j) => j.cluster))).toEqual(new Set(Object.values(names)));
  }, 120_000);

  it('puts a job whose selector no cluster carries in error, naming the selector and the clusters', async () => {
    const build = await push([job('nowhere', { cluster: { selector: ['AZURE'] } })]);
    const [nowhere] = await settled(build.id);
    expect(nowhere.state).toBe('error');
    expect(nowhere.cluster).toBeNull();
    expect(nowhere.message).toContain("job 'nowhere': no active, enabled cluster carries all of the labels [AZURE]");
    expect(nowhere.message).toContain(`${names.gcp} [my-worker, GCP] (active)`);
    expect(nowhere.message).toContain(`${names.aws} [AWS] (active)`);
  }, 60_000);

  it("runs a protected cluster's own project there, and puts another project's job whose selector names it in error, saying so", async () => {
    const own = await settled((await push([job('secured', { cluster: { selector: ['SECURE'] } })])).id);
    expect(own.map((j) => [j.state, j.cluster])).toEqual([['finished', names.secure]]);
    const [other] = await settled((await push([job('intruder', { cluster: { selector: ['SECURE'] } })], `other${suffix}`)).id);
    expect([other.state, other.cluster]).toEqual(['error', null]);
    expect(other.message).toBe(`job 'intruder': every matching cluster is protected and does not run project 'other${suffix}': ${names.secure} runs only 'scheduling'`);
    // Without a selector, another project's jobs go anywhere but there.
    const spread = await settled((await push(Array.from({ length: 8 }, (_, i) => job(`free${i}`)), `other${suffix}`)).id);
    expect(spread.every((j) => j.state === 'finished' && j.cluster !== names.secure)).toBe(true);
  }, 120_000);

  it('keeps new jobs off a disabled worker, and uses it again once enabled', async () => {
    expect((await apiAs(master.adminToken, master.apiUrl, 'POST', `/api/v1/admin/clusters/${names.aws}/disable`)).status).toBe(200);
    try {
      const build = await push(Array.from({ length: 6 }, (_, i) => job(`d${i}`)));
      const jobs = await settled(build.id);
      expect(jobs.every((j) => j.state === 'finished')).toBe(true);
      expect(jobs.map((j) => j.cluster)).not.toContain(names.aws);
      const pinned = await settled((await push([job('aws-only', { cluster: { selector: ['AWS'] } })])).id);
      expect(pinned[0].state).toBe('error');
      expect(pinned[0].message).toContain(`${names.aws} [AWS] (active, disabled)`);
    } finally {
      await apiAs(master.adminToken, master.apiUrl, 'POST', `/api/v1/admin/clusters/${names.aws}/enable`);
    }
    const back = await settled((await push([job('aws-again', { cluster: { selector: ['AWS'] } })])).id);
    expect(back[0]).toMatchObject({ state: 'finished', cluster: names.aws });
  }, 120_000);

  it('judges every `on` condition against every parent end state it can produce', async () => {
    const sleeper = job('killed', { command: ['sleep', '60'] });
    const parents = [
      job('finished', { command: ['true'] }),
      job('failure', { command: ['false'] }),
      job('error', { command: ['/nonexistent/binary'] }),
      sleeper,
      job('skipped', { command: ['true'], depends_on: [{ job: 'failure', on: ['finished'] }] }),
    ];
    const conditions = ['finished', 'error', 'failure', 'unstable', '*'];
    const children = parents.flatMap((p) =>
      conditions.map((on) => job(`${p.name}-on-${on === '*' ? 'any' : on}`, { command: ['true'], depends_on: [{ job: p.name, on: [on] }] })),
    );
    const build = await push([...parents, ...children]);
    const killed = build.jobs!.find((j) => j.name === 'killed')!;
    await eventually(async () => (await api<JobDto>(master.apiUrl, 'GET', `/api/v1/jobs/${killed.id}`)).body.state === 'running', 30_000, 'sleeper running');
    expect((await apiAs<JobDto>(master.adminToken, master.apiUrl, 'POST', `/api/v1/jobs/${killed.id}/abort`)).status).toBe(200);
    const jobs = new Map((await settled(build.id)).map((j) => [j.name, j]));
    for (const p of parents) expect(jobs.get(p.name)!.state).toBe(p.name);
    for (const p of parents) {
      for (const on of conditions) {
        const child = jobs.get(`${p.name}-on-${on === '*' ? 'any' : on}`)!;
        const runs = on === '*' || on === p.name;
        expect(`${child.name}: ${child.state}`).toBe(`${child.name}: ${runs ? 'finished' : 'skipped'}`);
      }
    }
  }, 120_000);

  it('finishes a wait job once its dependencies end, and kills a queued job on abort (its children are skipped)', async () => {
    const build = await push([
      job('a', { command: ['true'] }),
      job('b', { command: ['true'], cluster: { selector: ['AWS'] } }),
      { name: 'barrier', type: 'wait', depends_on: ['a', 'b'] },
      job('after-barrier', { command: ['true'], depends_on: ['barrier'] }),
      job('long', { command: ['sleep', '30'] }),
      job('waiting', { command: ['true'], depends_on: ['long'] }),
      job('after-waiting', { command: ['true'], depends_on: ['waiting'] }),
    ]);
    const byName = new Map(build.jobs!.map((j) => [j.name, j]));
    await eventually(async () => (await api<JobDto>(master.apiUrl, 'GET', `/api/v1/jobs/${byName.get('long')!.id}`)).body.state === 'running', 30_000, 'long running');
    const aborted = await apiAs<JobDto>(master.adminToken, master.apiUrl, 'POST', `/api/v1/jobs/${byName.get('waiting')!.id}/abort`);
    expect(aborted.body).toMatchObject({ state: 'killed', message: 'aborted' });
    expect((await apiAs<JobDto>(master.adminToken, master.apiUrl, 'POST', `/api/v1/jobs/${byName.get('long')!.id}/abort`)).status).toBe(200);
    const again = await apiAs<{ message: string }>(master.adminToken, master.apiUrl, 'POST', `/api/v1/jobs/${byName.get('waiting')!.id}/abort`);
    expect(again).toEqual({ status: 409, body: expect.objectContaining({ message: "job 'waiting' has already ended (killed)" }) });
    const jobs = new Map((await settled(build.id)).map((j) => [j.name, j]));
    expect(jobs.get('barrier')).toMatchObject({ state: 'finished', type: 'wait' });
    expect(jobs.get('after-barrier')!.state).toBe('finished');
    expect(jobs.get('long')!.state).toBe('killed');
    expect(jobs.get('after-waiting')).toMatchObject({ state: 'skipped', message: "skipped: parent 'waiting' ended 'killed', this job runs on [finished]" });
  }, 60_000);

  it('gives a job its environment and folders, stores its console output, and ends it at its timeout', async () => {
    const build = await push([
      job('env', {
        command: ['sh', '-c', 'echo "job=$INFRABOX_JOB_ID build=$INFRABOX_BUILD_ID cluster=$INFRABOX_CLUSTER_NAME"; test -d "$INFRABOX_OUTPUT" && test -d "$INFRABOX_INPUTS/first" && echo folders-ok; echo to-stderr >&2; printf "nul:\\000:end\\n"'],
        depends_on: ['first'],
        cluster: { selector: ['GCP'] },
      }),
      job('first', { command: ['true'] }),
      job('slow', { command: ['sleep', '30'], timeout: 1 }),
    ]);
    const jobs = new Map((await settled(build.id)).map((j) => [j.name, j]));
    const env = jobs.get('env')!;
    expect(env.state).toBe('finished');
    const chunks = (await api<Array<{ seq: number; text: string }>>(master.apiUrl, 'GET', `/api/v1/jobs/${env.id}/console`)).body;
    const text = chunks.map((c) => c.text).join('');
    expect(text).toContain(`job=${env.id} build=${build.id} cluster=${names.gcp}`);
    expect(text).toContain('folders-ok');
    expect(text).toContain('to-stderr');
    // PostgreSQL text holds no NUL: it shows as ␀, and the chunk around it is kept.
    expect(text).toContain('nul:\u2400:end');
    expect(jobs.get('slow')).toMatchObject({ state: 'error', message: 'timed out after 1 s' });
  }, 60_000);

  it('with two schedulers for one cluster, runs none of 1,000 jobs twice', async () => {
    const builds = await Promise.all(
      Array.from({ length: 10 }, (_, b) =>
        push(Array.from({ length: 100 }, (_, i) => job(`b${b}j${i}`, { command: ['sh', '-c', `echo "$INFRABOX_JOB_ID $INFRABOX_CLUSTER_NAME $PPID" >> ${runsLog}`], cluster: { selector: ['AWS'] } }))),
      ),
    );
    const jobs = (await Promise.all(builds.map((b) => settled(b.id, 300_000)))).flat();
    expect(jobs).toHaveLength(1_000);
    expect(jobs.filter((j) => j.state !== 'finished')).toEqual([]);
    const executed = await runs();
    const counts = jobs.map((j) => executed.get(j.id)?.length ?? 0);
    expect(counts.filter((n) => n !== 1)).toEqual([]);
    // Both replicas took part (so the claim, not luck, kept them apart): $PPID is the scheduler process.
    const text = await readFile(runsLog, 'utf8');
    const ids = new Set(jobs.map((j) => j.id));
    const runners = new Set(text.split('\n').filter((l) => ids.has(l.split(' ')[0])).map((l) => l.split(' ')[2]));
    const schedulerPids = aws.processes.filter((p) => p.script.includes('scheduler')).map((p) => String(p.pid));
    expect([...runners].sort()).toEqual(schedulerPids.sort());
  }, 400_000);

  it("re-homes a killed worker's queued jobs only to clusters matching their selector", async () => {
    // A second GCP worker (without my-worker) is the only other cluster the GCP jobs may use.
    const gcp2 = await startCluster({ name: `worker-gcp2${suffix}`, labels: ['GCP'] }, { registry });
    try {
      await eventually(async () => {
        const clusters = (await api<Array<{ name: string; active: boolean }>>(master.apiUrl, 'GET', '/api/v1/clusters')).body;
        return clusters.some((c) => c.name === gcp2.name && c.active);
      }, 30_000, 'second GCP worker active');
      const build = await push([
        job('gate', { command: ['sleep', '4'], cluster: { selector: ['AWS'] } }),
        job('mine', { depends_on: ['gate'], cluster: { selector: ['my-worker'] } }),
        ...Array.from({ length: 4 }, (_, i) => job(`gcp${i}`, { depends_on: ['gate'], cluster: { selector: ['GCP'], prefer: names.gcp } })),
      ]);
      expect(build.jobs!.filter((j) => j.name !== 'gate').map((j) => j.name).sort()).toEqual(['gcp0', 'gcp1', 'gcp2', 'gcp3', 'mine']);
      let placed: JobDto[] = [];
      await eventually(async () => {
        placed = (await api<BuildDto>(master.apiUrl, 'GET', `/api/v1/builds/${build.id}`)).body.jobs!;
        return placed.every((j) => j.cluster !== null);
      }, 10_000, 'placement');
      expect(placed.filter((j) => j.name !== 'gate').map((j) => j.cluster)).toEqual(Array(5).fill(names.gcp));

      await gcp.kill();
      let jobs = new Map<string, JobDto>();
      await eventually(async () => {
        const all = (await api<BuildDto>(master.apiUrl, 'GET', `/api/v1/builds/${build.id}`)).body.jobs!;
        jobs = new Map(all.map((j) => [j.name, j]));
        return all.filter((j) => j.name !== 'mine').every((j) => j.state === 'finished');
      }, 60_000, 'the re-homed jobs to finish');
      for (let i = 0; i < 4; i++) expect(jobs.get(`gcp${i}`)!.cluster).toBe(gcp2.name);
      const executed = await runs();
      for (let i = 0; i < 4; i++) expect(executed.get(jobs.get(`gcp${i}`)!.id)).toEqual([gcp2.name]);
      // Nothing else carries my-worker: it waits for its cluster instead of running elsewhere.
      const mine = jobs.get('mine')!;
      expect(mine).toMatchObject({ state: 'queued', cluster: names.gcp });
      expect(mine.message).toContain(`waiting for cluster ${names.gcp} to return`);
      expect(executed.has(mine.id)).toBe(false);
    } finally {
      await gcp2.stop();
    }
  }, 180_000);
});
