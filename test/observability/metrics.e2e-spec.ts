import type { BuildDto } from '@infrabox/jobs';
import { liveRegistryOptions, uniqueClusterName } from '../support/clusters';
import { eventually } from '../support/database';
import { apiAs, RunningCluster, settledJobs, startCluster } from '../support/installation';
import { loggedPort, Sample, scrape, valueOf } from '../support/prometheus';
import { TestProcess } from '../support/processes';

/** Two clusters as processes; a small build crosses from one to the other, and /metrics and the logs show it. */
describe('metrics and logs of the apps', () => {
  const suffix = uniqueClusterName('');
  const names = { main: `metrics-main${suffix}`, worker: `metrics-worker${suffix}` };
  const labels = { main: `MAIN${suffix}`, worker: `WORKER${suffix}` };
  const registry = liveRegistryOptions();
  let main: RunningCluster;
  let worker: RunningCluster;

  beforeAll(async () => {
    // Debug level: the scheduler logs each job's end there (the apps inherit this environment).
    const level = process.env.INFRABOX_LOG_LEVEL;
    process.env.INFRABOX_LOG_LEVEL = 'debug';
    [main, worker] = await Promise.all([
      startCluster({ name: names.main, labels: [labels.main] }, { registry, forwarder: true }),
      startCluster({ name: names.worker, labels: [labels.worker] }, { registry, forwarder: true }),
    ]);
    if (level === undefined) delete process.env.INFRABOX_LOG_LEVEL;
    else process.env.INFRABOX_LOG_LEVEL = level;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([main, worker].filter(Boolean).map((c) => c.stop()));
  });

  let crossingBuildId: string;
  const settledJobsOfLastBuild = () => settledJobs(main.apiUrl, crossingBuildId, 10_000);
  const app = (cluster: RunningCluster, script: string): TestProcess => cluster.processes.find((p) => p.script.includes(script))!;
  const metricsOf = async (cluster: RunningCluster, script: string): Promise<Sample[]> => {
    const base = script === 'api' ? cluster.apiUrl : `http://127.0.0.1:${loggedPort(app(cluster, script))}`;
    return (await scrape(base)).samples;
  };

  it('counts handled events with their lag, jobs by cluster and state, transfers and placement failures', async () => {
    const created = await apiAs<BuildDto>(main.adminToken, main.apiUrl, 'POST', '/api/v1/projects/metrics/builds', {
      definition: {
        version: 1,
        jobs: [
          { name: 'producer', type: 'docker-image', image: 'none', cluster: { selector: [labels.worker] }, command: ['sh', '-c', 'echo hello > "$INFRABOX_OUTPUT/greeting.txt"'] },
          { name: 'consumer', type: 'docker-image', image: 'none', cluster: { selector: [labels.main] }, depends_on: ['producer'], command: ['cat', '/dev/null'] },
        ],
      },
    });
    expect(created.status).toBe(201);
    crossingBuildId = created.body.id;
    const jobs = await settledJobs(main.apiUrl, created.body.id, 60_000);
    expect([jobs.get('producer')?.state, jobs.get('consumer')?.state]).toEqual(['finished', 'finished']);

    const unplaceable = await apiAs<BuildDto>(main.adminToken, main.apiUrl, 'POST', '/api/v1/projects/metrics/builds', {
      definition: { version: 1, jobs: [{ name: 'nowhere', type: 'docker-image', image: 'none', cluster: { selector: [`NOWHERE${suffix}`] }, command: ['true'] }] },
    });
    expect((await settledJobs(main.apiUrl, unplaceable.body.id, 30_000)).get('nowhere')?.state).toBe('error');

    // The worker's scheduler handled the producer's job.placed, and measured how late.
    const workerScheduler = await metricsOf(worker, 'scheduler');
    expect(valueOf(workerScheduler, 'infrabox_events_handled_total', { app: 'scheduler', pattern: 'job.placed', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(workerScheduler, 'infrabox_event_lag_seconds_count', { pattern: 'job.placed' })).toBeGreaterThanOrEqual(1);
    const lagSum = valueOf(workerScheduler, 'infrabox_event_lag_seconds_sum', { pattern: 'job.placed' })!;
    expect(lagSum).toBeGreaterThanOrEqual(0);
    expect(lagSum).toBeLessThan(60);
    expect(valueOf(workerScheduler, 'infrabox_app_info', { cluster: names.worker })).toBe(1);
    expect(workerScheduler.every((s) => s.labels.app === 'scheduler')).toBe(true);
    expect(valueOf(workerScheduler, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // The pool: connections open (the scheduler has used some), none queued for one at rest.
    expect(valueOf(workerScheduler, 'infrabox_db_pool_clients', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(workerScheduler, 'infrabox_db_pool_clients', { state: 'total' })).toBeLessThanOrEqual(5);
    expect(valueOf(workerScheduler, 'infrabox_db_pool_clients', { state: 'waiting' })).toBe(0);

    // The main cluster's forwarder pulled the producer's output: bytes and one successful transfer.
    const mainForwarder = await metricsOf(main, 'output-forwarder');
    expect(valueOf(mainForwarder, 'infrabox_transfer_bytes_total', { kind: 'output', direction: 'pull' })).toBeGreaterThan(0);
    expect(valueOf(mainForwarder, 'infrabox_transfer_duration_seconds_count', { kind: 'output', direction: 'pull', outcome: 'ok' })).toBe(1);
    expect(valueOf(mainForwarder, 'infrabox_events_handled_total', { pattern: 'job.finished', outcome: 'ok' })).toBeGreaterThanOrEqual(1);

    // Each api counts its own cluster's jobs.
    const mainApi = await metricsOf(main, 'api');
    const workerApi = await metricsOf(worker, 'api');
    expect(valueOf(mainApi, 'infrabox_jobs', { cluster: names.main, state: 'finished' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(mainApi, 'infrabox_jobs', { cluster: names.main, state: 'running' })).toBe(0);
    expect(valueOf(mainApi, 'infrabox_jobs', { cluster: names.worker })).toBeUndefined();
    expect(valueOf(workerApi, 'infrabox_jobs', { cluster: names.worker, state: 'finished' })).toBeGreaterThanOrEqual(1);

    // Whichever scheduler placed the build counted the job it could not place.
    const schedulers = [...(await metricsOf(main, 'scheduler')), ...workerScheduler];
    expect(valueOf(schedulers, 'infrabox_placement_failures_total', { reason: 'no-matching-cluster', outcome: 'error' })).toBe(1);
  }, 120_000);

  it('logs JSON lines naming the app and cluster, and the job a line is about', async () => {
    const producerId = (await settledJobsOfLastBuild()).get('producer')!.id;
    for (const cluster of [main, worker]) {
      for (const process of cluster.processes.filter((p) => p.script.startsWith('apps/'))) {
        const app = process.script.split('/')[1];
        const bad = process.lines.filter((line) => {
          try {
            const entry = JSON.parse(line) as Record<string, unknown>;
            return !(entry.app === app && entry.cluster === cluster.name && typeof entry.level === 'string' && typeof entry.msg === 'string');
          } catch {
            return true;
          }
        });
        expect([cluster.name, app, bad]).toEqual([cluster.name, app, []]);
      }
    }
    // The main cluster's forwarder pulled the producer's output while handling a job event.
    const pulled = app(main, 'output-forwarder')
      .lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => String(entry.msg).startsWith(`job ${producerId}: pulled`));
    expect(pulled).toMatchObject({ app: 'output-forwarder', cluster: names.main, jobId: producerId, level: 'info' });
    expect(pulled).toMatchObject({ pattern: expect.stringMatching(/^job\.(finished|placed)$/), eventId: expect.stringMatching(/^\d+$/) });

    // The worker's scheduler ran the producer: the line of its end names the job and its build.
    const ended = app(worker, 'scheduler')
      .lines.map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.msg === `job ${producerId} 'producer' finished`);
    expect(ended).toMatchObject({ app: 'scheduler', cluster: names.worker, level: 'debug', jobId: producerId, buildId: crossingBuildId });
  });

  it('never logs a token: Authorization headers, ?token= links and Basic credentials are redacted from every line', async () => {
    // The admin token went in the Authorization header of the builds above (logged at debug level);
    // now as a download link's ?token= and as Basic credentials, on routes that refuse them.
    const secret = main.adminToken.split('.')[2];
    expect((await fetch(`${main.apiUrl}/api/v1/jobs/${crossingBuildId}/source?token=${main.adminToken}`)).status).toBe(403);
    const basic = Buffer.from(`x:${main.adminToken}`).toString('base64');
    expect((await fetch(`${main.apiUrl}/api/v1/auth/whoami`, { headers: { authorization: `Basic ${basic}` } })).status).toBe(401);
    const apiLines = () => app(main, 'api').lines.join('\n');
    await eventually(() => apiLines().includes('"url":"/api/v1/auth/whoami"'), 5_000, 'the refused request in the api log');
    const everything = [main, worker].flatMap((cluster) => cluster.processes.flatMap((p) => [...p.lines, ...p.stderr])).join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(basic);
    const logged = apiLines()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { req?: { url?: string; headers?: Record<string, string> } });
    expect(logged.find((entry) => entry.req?.url?.includes('/source?token='))?.req?.url).toBe(`/api/v1/jobs/${crossingBuildId}/source?token=[redacted]`);
    expect(logged.find((entry) => entry.req?.url === '/api/v1/auth/whoami')?.req?.headers?.authorization).toBe('[redacted]');
  });

  it('answers in the Prometheus text format on every app', async () => {
    for (const script of ['api', 'scheduler', 'output-forwarder']) {
      const base = script === 'api' ? main.apiUrl : `http://127.0.0.1:${loggedPort(app(main, script))}`;
      const { contentType } = await scrape(base);
      // Express reorders the parameters of prom-client's 'text/plain; version=0.0.4; charset=utf-8'.
      expect([script, contentType?.split(/;\s*/).sort()]).toEqual([script, ['charset=utf-8', 'text/plain', 'version=0.0.4']]);
    }
  });
});
