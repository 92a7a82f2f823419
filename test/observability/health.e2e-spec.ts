import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BuildDto } from '@infrabox/jobs';
import { eventually } from '../support/database';
import { masterAdminToken } from '../support/auth';
import { apiAs, freePort, PROCESS_EXECUTOR, settledJobs } from '../support/installation';
import { authSection } from '../support/clusters';
import { OwnedPostgres } from '../support/owned-postgres';
import { TestProcess } from '../support/processes';

const APPS = ['api', 'registry', 'scheduler', 'output-forwarder'] as const;
type App = (typeof APPS)[number];

async function statusOf(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/**
 * The four apps of one installation as processes, on a PostgreSQL this test owns: stopping it
 * must turn every app not-ready (but still live), and starting it again ready, with work flowing.
 */
describe('health of every app across a PostgreSQL restart', () => {
  let dir: string;
  let pgDir: string;
  let pgPort: number;
  let postgres: OwnedPostgres;
  let apiUrl: string;
  const processes = new Map<App, TestProcess>();
  const ports = new Map<App, number>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-health-'));
    // A folder of its own: as root, it is handed to the unprivileged postgres user.
    pgDir = await mkdtemp(path.join(tmpdir(), 'infrabox-health-pg-'));
    pgPort = await freePort();
    postgres = await OwnedPostgres.start(pgDir, pgPort);
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const configFile = path.join(dir, 'config.yaml');
    await writeFile(configFile, `host: ${apiUrl}\ncluster:\n  name: master\nstorage:\n  local:\n    enabled: true\n    path: ${dir}/storage\n${PROCESS_EXECUTOR}${authSection('master')}`);
    const env = { DATABASE_URL: postgres.url };
    // The api listens on its host's port, the registry on --port, the scheduler and the forwarder
    // on an ephemeral port that they log.
    processes.set('api', new TestProcess('apps/api/src/main.js', ['--config', configFile], env, dir));
    ports.set('api', apiPort);
    const registryPort = await freePort();
    processes.set('registry', new TestProcess('apps/registry/src/main.js', ['--config', configFile, '--port', String(registryPort)], env, dir));
    ports.set('registry', registryPort);
    processes.set('scheduler', new TestProcess('apps/scheduler/src/main.js', ['--config', configFile], env, dir));
    processes.set('output-forwarder', new TestProcess('apps/output-forwarder/src/main.js', ['--config', configFile], env, dir));
    for (const [app, process] of processes) {
      await process.waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, `${app} to run`);
      if (!ports.has(app)) {
        const logged = process.lines.map((l) => /listening on port (\d+) \(health, metrics\)/.exec(l)).find(Boolean);
        expect([app, logged?.[1]]).toEqual([app, expect.stringMatching(/^\d+$/)]);
        ports.set(app, Number(logged![1]));
      }
    }
    expect(new Set(ports.values()).size).toBe(4);
  }, 120_000);

  afterAll(async () => {
    for (const process of processes.values()) process.kill('SIGTERM');
    await Promise.all([...processes.values()].map((p) => p.exited));
    await postgres?.stop();
    for (const folder of [dir, pgDir]) if (folder) await rm(folder, { recursive: true, force: true });
  });

  const url = (app: App, route: string) => `http://127.0.0.1:${ports.get(app)}${route}`;
  const statuses = async (route: string) =>
    Object.fromEntries(await Promise.all(APPS.map(async (app) => [app, await statusOf(url(app, route))] as const)));
  const all = (status: number) => Object.fromEntries(APPS.map((app) => [app, status]));

  it('answers live and ready with 200 on every app, naming the checks each one makes', async () => {
    expect(await statuses('/health/live')).toEqual(all(200));
    await eventually(async () => JSON.stringify(await statuses('/health/ready')) === JSON.stringify(all(200)), 20_000, 'every app ready');
    const checks = async (app: App) => Object.keys(((await (await fetch(url(app, '/health/ready'))).json()) as { info: object }).info).sort();
    expect(await checks('api')).toEqual(['database', 'events', 'storage']);
    expect(await checks('registry')).toEqual(['database', 'events']);
    expect(await checks('scheduler')).toEqual(['database', 'events', 'storage']);
    expect(await checks('output-forwarder')).toEqual(['database', 'events', 'storage']);
  });

  it('turns every app not-ready (still live) while PostgreSQL is down, and ready again once it is back', async () => {
    await postgres.stop();
    const stoppedAt = Date.now();
    await eventually(async () => JSON.stringify(await statuses('/health/ready')) === JSON.stringify(all(503)), 5_000, 'every app not ready');
    const notReadyAfterMs = Date.now() - stoppedAt;
    expect(await statuses('/health/live')).toEqual(all(200));
    const body = (await (await fetch(url('scheduler', '/health/ready'))).json()) as { status: string; error: Record<string, { status: string }> };
    expect(body.status).toBe('error');
    expect(body.error.database.status).toBe('down');
    expect(body.error.events.status).toBe('down');

    postgres = await OwnedPostgres.start(pgDir, pgPort);
    await eventually(async () => JSON.stringify(await statuses('/health/ready')) === JSON.stringify(all(200)), 30_000, 'every app ready again');
    process.stdout.write(`not ready ${notReadyAfterMs} ms after PostgreSQL stopped\n`);

    // Work flows again: build.created → placement → job.placed → run → job.finished, all handled after the restart.
    const created = await apiAs<BuildDto>(await masterAdminToken(postgres.url), apiUrl, 'POST', '/api/v1/projects/health/builds', {
      definition: { version: 1, jobs: [{ name: 'after-restart', type: 'docker-image', image: 'alpine', command: ['sh', '-c', 'echo back'] }] },
    });
    expect(created.status).toBe(201);
    const jobs = await settledJobs(apiUrl, created.body.id, 60_000);
    expect(jobs.get('after-restart')?.state).toBe('finished');
  }, 120_000);
});
