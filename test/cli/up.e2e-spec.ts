import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from '../support/database';
import { CLI, freePort, portAccepts, processExists, runCli } from '../support/cli';
import { skopeo, writeOciImage } from '../support/docker-registry';
import { DIST, TestProcess } from '../support/processes';

const BIN = path.relative(DIST, CLI);
/** `up` must start its own embedded PostgreSQL, not use the test run's database. */
const UP_ENV = { DATABASE_URL: undefined, INFRABOX_API: undefined, INFRABOX_TOKEN: undefined, INFRABOX_CONFIG: undefined };

interface Installation {
  name?: string;
  labels?: string;
  port: number;
  /** The image registry's port (default: the api's + 1000). */
  registryPort?: number;
  extra?: string;
}

async function writeConfig(dir: string, file: string, installation: Installation): Promise<string> {
  const cluster = installation.name ? `cluster:\n  name: ${installation.name}\n  labels: ${installation.labels ?? ''}\n` : '';
  const storage = path.join(dir, `storage-${installation.name ?? 'master'}`);
  // The signing keys in the test's folder, not in .infrabox/ of the working directory.
  const registryPort = installation.registryPort === undefined ? '' : `  port: ${installation.registryPort}\n`;
  const registry = `registry:\n${registryPort}  signing_key: ${path.join(dir, 'keys', `${installation.name ?? 'master'}.pem`)}\n`;
  const auth = `auth:\n  signing_key: ${path.join(dir, 'keys', `${installation.name ?? 'master'}-token.pem`)}\n`;
  const text = `${cluster}host: http://127.0.0.1:${installation.port}\nstorage:\n  local:\n    enabled: true\n    path: ${storage}\n${registry}${auth}${installation.extra ?? ''}`;
  const full = path.join(dir, file);
  await writeFile(full, text);
  return full;
}

async function isReady(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

/** `[<cluster> <app>] started (pid N)` lines → pid by label. */
function startedPids(lines: string[]): Map<string, number> {
  return new Map(lines.flatMap((line) => {
    const match = /^\[(.+)\] started \(pid (\d+)\)$/.exec(line);
    return match ? [[match[1]!, Number(match[2])] as const] : [];
  }));
}

/** The version the test run's Podman service reports. */
function podmanVersion(): string {
  return execFileSync('podman', ['version', '--format', '{{.Client.Version}}'], { encoding: 'utf8' }).trim();
}

describe('infrabox up', () => {
  jest.setTimeout(180_000);

  it('runs a master and a worker on one embedded PostgreSQL, writes local.json, and stops everything on SIGINT', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-up-'));
    const dataDir = await mkdtemp(path.join(tmpdir(), 'infrabox-up-pg-')); // PostgreSQL's user must own it
    const [masterPort, workerPort, dbPort, masterRegistryPort, workerRegistryPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const master = await writeConfig(dir, 'master.yaml', { port: masterPort, registryPort: masterRegistryPort });
    const worker = await writeConfig(dir, 'worker.yaml', { name: 'worker-1', labels: 'my-worker,GCP', port: workerPort, registryPort: workerRegistryPort });
    const stateDir = path.join(dir, '.infrabox');

    const up = new TestProcess(BIN, ['up', master, worker, '--data-dir', dataDir, '--db-port', String(dbPort), '--state-dir', stateDir], UP_ENV);
    try {
      await eventually(async () => (await isReady(masterPort)) && (await isReady(workerPort)), 120_000, 'both APIs ready');
      await up.waitFor((lines) => lines.some((l) => l.startsWith('InfraBox is up: ')), 30_000, 'the "InfraBox is up" line');
      expect(up.lines).toContain(`InfraBox is up: master API at http://127.0.0.1:${masterPort} (clusters: master, worker-1); Ctrl-C stops everything`);
      // The dashboard URL and the one command that pushes the example, and the URL answers.
      await up.waitFor((lines) => lines.some((l) => l.startsWith('push the example: ')), 10_000, 'the push command');
      // A local run's dashboard link carries the local admin token (in the fragment, which no server sees).
      expect(up.lines).toContainEqual(expect.stringMatching(new RegExp(`^dashboard: http://127\\.0\\.0\\.1:${masterPort}/dashboard/#token=[\\w.-]+$`)));
      expect(up.lines).toContain(`jobs run in containers on ${process.env.DOCKER_HOST} (podman ${podmanVersion()})`);
      expect(up.lines).toContain('push the example: bin/infrabox push examples/multi-cluster --follow');
      const dashboard = await fetch(`http://127.0.0.1:${masterPort}/dashboard`);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toContain('<title>InfraBox</title>');

      const state = JSON.parse(await readFile(path.join(stateDir, 'local.json'), 'utf8')) as { token?: unknown; adminToken?: unknown };
      expect(state).toEqual({
        installations: [
          { cluster: 'master', api: `http://127.0.0.1:${masterPort}` },
          { cluster: 'worker-1', api: `http://127.0.0.1:${workerPort}` },
        ],
        project: 'default',
        token: expect.any(String),
        adminToken: expect.any(String),
      });
      expect(up.lines).toContain(`dashboard: http://127.0.0.1:${masterPort}/dashboard/#token=${state.adminToken as string}`);
      expect(up.lines).toContain(`wrote an admin token and a token for project 'default' to ${path.join(stateDir, 'local.json')}`);
      expect(up.stderr.join('')).not.toContain('warning: no');
      // The admin token is signed by the master's key (read from the database up started).
      const admin = await fetch(`http://127.0.0.1:${masterPort}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${state.adminToken as string}` } });
      expect(await admin.json()).toEqual({ kind: 'admin', issuer: 'master' });
      // `infrabox push` sends this token: the master accepts it as project `default`'s.
      const whoami = await fetch(`http://127.0.0.1:${masterPort}/api/v1/auth/whoami`, {
        headers: { authorization: `Bearer ${state.token as string}` },
      });
      expect(whoami.status).toBe(200);
      expect(await whoami.json()).toMatchObject({ kind: 'project', projectName: 'default' });
      // …so `infrabox push` works with no flags (API, token and project from <cwd>/.infrabox/local.json).
      const definition = { version: 1, jobs: [{ name: 'hello', type: 'docker-image', image: 'none', cluster: { selector: ['master'] }, command: ['true'] }] };
      await writeFile(path.join(dir, 'infrabox.json'), JSON.stringify(definition));
      const pushed = await runCli(['push', '--json'], { cwd: dir, env: UP_ENV });
      expect([pushed.code, pushed.stderr.split('\n').filter((l) => l !== '' && !/^upload \d+%$/.test(l))]).toEqual([0, []]);
      const { buildId } = JSON.parse(pushed.stdout) as { buildId: string };
      // Reads need a login: the anonymous read is refused, the project's token reads its build.
      expect((await fetch(`http://127.0.0.1:${masterPort}/api/v1/builds/${buildId}`)).status).toBe(401);
      const build = await fetch(`http://127.0.0.1:${masterPort}/api/v1/builds/${buildId}`, { headers: { authorization: `Bearer ${state.token as string}` } });
      expect(build.status).toBe(200);
      expect(await build.json()).toMatchObject({ id: buildId, project: 'default' });
      const pids = startedPids(up.lines);
      expect([...pids.keys()].sort()).toEqual(
        ['api', 'registry', 'scheduler', 'output-forwarder', 'docker-registry'].flatMap((app) => [`master ${app}`, `worker-1 ${app}`]).sort(),
      );

      // Each installation's image registry: it asks for a token from its own cluster's api, and
      // the project token up wrote pushes to the project's repository on the master.
      expect(up.lines).toContain(`[master docker-registry] serving at http://127.0.0.1:${masterRegistryPort} (images in ${path.join(dir, 'storage-master', 'registry')}; tokens from the cluster's api)`);
      for (const [port, api] of [[masterRegistryPort, masterPort], [workerRegistryPort, workerPort]]) {
        const v2 = await fetch(`http://127.0.0.1:${port}/v2/`);
        expect([v2.status, v2.headers.get('www-authenticate')]).toEqual([401, `Bearer realm="http://127.0.0.1:${api}/api/v1/registry/token",service="${port === masterRegistryPort ? 'master' : 'worker-1'}"`]);
      }
      const image = await writeOciImage(path.join(dir, 'image'));
      const pushedImage = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `x:${state.token as string}`, `oci:${image}:latest`, `docker://127.0.0.1:${masterRegistryPort}/default/hello:1`], dir);
      expect(pushedImage).toEqual({ code: 0, stderr: '' });
      expect(existsSync(path.join(dir, 'storage-master', 'registry', 'docker', 'registry', 'v2', 'repositories', 'default', 'hello'))).toBe(true);
      expect(up.lines.some((l) => l.startsWith('[master api] '))).toBe(true); // app output, prefixed
      // The apps log JSON; up shows it readable: time, level, [context], message.
      expect(up.lines).toContainEqual(expect.stringMatching(/^\[worker-1 scheduler\] \d\d:\d\d:\d\d INFO  \[app\] scheduler of cluster 'worker-1' is running$/));
      expect(up.lines.filter((l) => /^\[\S+ (api|registry|scheduler|output-forwarder)\] \{/.test(l))).toEqual([]);
      expect(up.lines.join('\n')).not.toContain('\x1b['); // no colour when stdout is not a terminal

      // The real API, found through <cwd>/.infrabox/local.json.
      let clusters: Array<{ name: string; labels: string[]; enabled: boolean }> = [];
      await eventually(async () => {
        const result = await runCli(['clusters', '--json'], { cwd: dir });
        clusters = result.code === 0 ? JSON.parse(result.stdout) : [];
        return clusters.length === 2;
      }, 30_000, 'both clusters registered');
      expect(clusters.map((c) => [c.name, c.labels, c.enabled]).sort()).toEqual([
        ['master', [], true],
        ['worker-1', ['my-worker', 'GCP'], true],
      ]);
      expect(await runCli(['clusters', 'disable', 'worker-1'], { cwd: dir })).toEqual({ code: 0, stdout: 'cluster worker-1 disabled\n', stderr: '' });
      const table = await runCli(['clusters'], { cwd: dir });
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(new RegExp(`^worker-1 +my-worker,GCP +(yes|no) +no +\\S+ ago +http://127\\.0\\.0\\.1:${workerPort}$`, 'm'));
      expect(await runCli(['clusters', 'enable', 'worker-1'], { cwd: dir })).toMatchObject({ code: 0, stdout: 'cluster worker-1 enabled\n' });
      expect(await runCli(['clusters', 'enable', 'nope'], { cwd: dir })).toEqual({ code: 1, stdout: '', stderr: "cluster 'nope' not found\n" });

      // Elsewhere (no local.json): disabling needs an admin token, which `infrabox admin token` mints with the master's key file.
      const api = ['--api', `http://127.0.0.1:${masterPort}`];
      const elsewhere = await mkdtemp(path.join(tmpdir(), 'infrabox-up-elsewhere-'));
      const needsAdmin = /^clusters disable needs an admin token \(`infrabox admin token`, then --token or \$INFRABOX_TOKEN\): (.+)\n$/;
      const anonymous = await runCli(['clusters', 'disable', 'worker-1', ...api], { cwd: elsewhere, env: UP_ENV });
      expect([anonymous.code, anonymous.stdout, anonymous.stderr]).toEqual([1, '', expect.stringMatching(needsAdmin)]);
      expect(anonymous.stderr).toContain('missing bearer token');
      const asProject = await runCli(['clusters', 'disable', 'worker-1', ...api, '--token', state.token as string], { cwd: elsewhere, env: UP_ENV });
      expect([asProject.code, asProject.stderr]).toEqual([1, expect.stringMatching(needsAdmin)]);
      expect(asProject.stderr).toContain('a project token may not call this route');
      const minted = await runCli(['admin', 'token', '--config', master, '--ttl', '120'], {
        cwd: elsewhere,
        env: { ...UP_ENV, DATABASE_URL: `postgres://postgres:infrabox@127.0.0.1:${dbPort}/postgres` },
      });
      expect([minted.code, minted.stderr]).toEqual([0, '']);
      const adminToken = minted.stdout.trim();
      const claims = JSON.parse(Buffer.from(adminToken.split('.')[1]!, 'base64url').toString()) as { kind: string; iss: string; exp: number; iat: number };
      expect([claims.kind, claims.iss, claims.exp - claims.iat]).toEqual(['admin', 'master', 120]);
      expect(await runCli(['clusters', 'disable', 'worker-1', ...api], { cwd: elsewhere, env: { ...UP_ENV, INFRABOX_TOKEN: adminToken } })).toEqual({
        code: 0,
        stdout: 'cluster worker-1 disabled\n',
        stderr: '',
      });
      expect(await runCli(['clusters', 'enable', 'worker-1', ...api, '--token', adminToken], { cwd: elsewhere, env: UP_ENV })).toMatchObject({ code: 0 });

      up.kill('SIGINT');
      expect(await up.exited).toBe(0);
    } finally {
      up.kill('SIGKILL');
    }
    expect(up.lines).toContain('embedded PostgreSQL stopped');
    expect(up.lines[up.lines.length - 1]).toBe('all processes stopped');
    for (const [label, pid] of startedPids(up.lines)) expect([label, processExists(pid)]).toEqual([label, false]);
    for (const port of [masterPort, workerPort, dbPort, masterRegistryPort, workerRegistryPort]) expect([port, await portAccepts(port)]).toEqual([port, false]);
    expect(existsSync(path.join(dataDir, 'data', 'postmaster.pid'))).toBe(false);
  });

  it('stops everything with exit code 1 when an app exits on its own', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-up-'));
    const deadDb = await freePort();
    // A database nobody serves: every app of this installation fails while starting.
    const config = await writeConfig(dir, 'broken.yaml', {
      name: 'worker-1',
      port: await freePort(),
      extra: `database:\n  postgres:\n    enabled: true\n    db: infrabox\n    host: 127.0.0.1\n    port: ${deadDb}\n    username: nobody\n`,
    });
    const up = new TestProcess(BIN, ['up', config, '--state-dir', path.join(dir, 'state')], UP_ENV);
    try {
      expect(await up.exited).toBe(1);
    } finally {
      up.kill('SIGKILL');
    }
    const stderr = up.stderr.join('');
    expect(stderr).toMatch(/^\[worker-1 (api|registry|scheduler|output-forwarder)\] exited with code 1$/m);
    expect(up.lines[up.lines.length - 1]).toBe('all processes stopped (exit code 1)');
    for (const [label, pid] of startedPids(up.lines)) expect([label, processExists(pid)]).toEqual([label, false]);
  });

  it('refuses two configs with the same port or cluster name before starting anything (exit 2)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-up-'));
    const port = await freePort();
    const a = await writeConfig(dir, 'a.yaml', { name: 'worker-a', port });
    const b = await writeConfig(dir, 'b.yaml', { name: 'worker-b', port });
    const c = await writeConfig(dir, 'c.yaml', { name: 'worker-a', port: await freePort() });

    const samePort = await runCli(['up', 'a.yaml', 'b.yaml', '--state-dir', 'state'], { cwd: dir, env: UP_ENV });
    expect(samePort).toEqual({
      code: 2,
      stdout: 'configurations: a.yaml, b.yaml\n',
      stderr: `infrabox up: a.yaml and b.yaml use the same api port ${port}; each installation needs its own\n`,
    });
    const sameName = await runCli(['up', a, c], { cwd: dir, env: UP_ENV });
    expect(sameName.code).toBe(2);
    expect(sameName.stderr).toBe("infrabox up: a.yaml and c.yaml use the same cluster name 'worker-a'; each installation needs its own\n");
    expect(existsSync(path.join(dir, 'state'))).toBe(false);
  });

  it('prints the configuration errors and exits 2', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-up-'));
    await writeFile(path.join(dir, 'bad.yaml'), 'host: http://127.0.0.1:8080\nclster: typo\n');
    const result = await runCli(['up', 'bad.yaml', 'missing.yaml'], { cwd: dir, env: UP_ENV });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Invalid install configuration ${path.join(dir, 'bad.yaml')}:\n  - clster: unknown field\n`);
    expect(result.stderr).toContain(`Invalid install configuration ${path.join(dir, 'missing.yaml')}:\n  - (file): cannot read:`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('bin/infrabox asks for a build when dist/ is missing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-bin-'));
    await mkdir(path.join(dir, 'bin'));
    await copyFile(CLI, path.join(dir, 'bin', 'infrabox'));
    const proc = new TestProcess(path.relative(DIST, path.join(dir, 'bin', 'infrabox')), ['--help']);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr.join('')).toContain('run `npm run build` first');
  });
});
