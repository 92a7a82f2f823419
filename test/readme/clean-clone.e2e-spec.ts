import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.resolve(__dirname, '../..');
/** `npm start`: the apps of master, worker-gcp and worker-aws, their image registries (api port + 1000), the embedded PostgreSQL. */
const FIXED_PORTS = [8080, 8081, 8082, 9080, 9081, 9082, 54329];
const START_TIMEOUT_MS = 300_000;
/** Variables of the machine that reaching the npm registry may need: CA bundles and proxies. */
const REGISTRY_ACCESS = /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|(https?|no)_proxy|npm_config_(cafile|ca|proxy|https_proxy|registry))$/i;
const run = promisify(execFile);

/** The first ```sh block of README.md's "## Two commands" section: the command that runs the system. */
export async function readmeRunCommand(readmeFile: string): Promise<string> {
  const readme = await readFile(readmeFile, 'utf8');
  const section = /^## Two commands\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  const block = section && /```sh\n([\s\S]*?)```/.exec(section)?.[1]?.trim();
  if (!block) throw new Error(`${readmeFile}: no \`\`\`sh block under "## Two commands"`);
  return block;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/** Pids of live processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<Array<{ pid: number; command: string }>> {
  const found: Array<{ pid: number; command: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const command = await readFile(`/proc/${entry}/cmdline`, 'utf8').then((t) => t.replace(/\0/g, ' ').trim(), () => '');
    if (command.includes(text)) found.push({ pid: Number(entry), command });
  }
  return found;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Issue 5, "What it must show": the README's run command, from a clean clone (committed files
 * only), with a clean environment, brings up a master and two workers; `examples/multi-cluster/`
 * pushed with the CLI of that clone runs every job on the cluster its selector names; Ctrl-C
 * (SIGINT to the command's process group) stops everything, PostgreSQL included.
 */
describe('the README run command from a clean clone', () => {
  // Normally about 80 s; the rest is for a disk still writing back a gigabyte of install (see beforeAll).
  jest.setTimeout(600_000);
  let dir: string;
  let clone: string;
  let started: ChildProcess | undefined;
  let output = '';

  /**
   * The clean environment: what finding node, npm and npm's cache needs, and the machine's own
   * settings for reaching the npm registry (its CA bundle and proxy; the npm of the project's
   * Node 24 reads no system-wide npmrc, so the CA must come from the environment) — nothing of ours.
   */
  const cleanEnv = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    // The outer `npm ci` filled npm's cache with every package the clone needs: use it rather than
    // asking the registry again for each package's metadata (the install stays the README's).
    npm_config_prefer_offline: 'true',
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => REGISTRY_ACCESS.test(name))),
  });
  const cli = (args: string[]) => run(process.execPath, [path.join(clone, 'bin/infrabox'), ...args], { cwd: clone, env: cleanEnv(), maxBuffer: 16 << 20 });

  beforeAll(async () => {
    // The run's own `npm ci` may have just written a gigabyte: let it reach the disk first, or the
    // clone's install below competes with that write-back (on this machine, for minutes).
    await run('sync', []);
    const taken: number[] = [];
    for (const port of FIXED_PORTS) if (!(await portFree(port))) taken.push(port);
    if (taken.length > 0) {
      throw new Error(`port(s) ${taken.join(', ')} in use: this test runs \`npm start\`, which needs 8080-8082, 9080-9082 and 54329 (is another \`npm start\` or \`infrabox up\` running?)`);
    }
    // A private folder (mkdtemp makes it mode 700, like root's home): as root, the embedded
    // PostgreSQL runs as the `postgres` user, who cannot reach into it.
    dir = await mkdtemp(path.join(tmpdir(), 'infrabox-clean-clone-'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    clone = path.join(dir, 'infrabox');
    await run('git', ['clone', '--quiet', ROOT, clone]);
  });

  afterAll(async () => {
    if (started?.pid !== undefined && groupAlive(started.pid)) {
      // Still running: the test did not get to its Ctrl-C (a timeout, a failed expectation). What it printed says why.
      console.log(`npm start was still running; the end of what it printed:\n${output.slice(-6000)}`);
      process.kill(-started.pid, 'SIGKILL');
    }
    if (clone) for (const left of await processesMentioning(clone)) process.kill(left.pid, 'SIGKILL');
    if (dir) await rm(dir, { recursive: true, force: true });
    const relocated = /PostgreSQL's data is in (\S+)/.exec(output)?.[1];
    if (relocated) await rm(relocated, { recursive: true, force: true });
    // The clone's install wrote about a gigabyte: let the kernel write back what is left of it now,
    // not during the next test file (a 200 MiB archive test then waited minutes for the disk).
    await run('sync', []);
  });

  it('runs, takes examples/multi-cluster onto the clusters its selectors name, and stops cleanly on Ctrl-C', async () => {
    const command = await readmeRunCommand(path.join(clone, 'README.md'));
    expect(command).toBe('npm install && npm start');

    started = spawn('sh', ['-c', command], { cwd: clone, env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => started!.on('exit', (code) => resolve(code)));
    started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    // npm start prints the dashboard URL and the one push command once every API is ready.
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!output.includes('push the example: ')) {
      if (started.exitCode !== null) throw new Error(`\`${command}\` exited (${started.exitCode}) before it was up:\n${output.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`\`${command}\` was not up within ${START_TIMEOUT_MS / 1000} s:\n${output.slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(output).toContain('InfraBox is up: master API at http://127.0.0.1:8080 (clusters: master, worker-aws, worker-gcp); Ctrl-C stops everything');
    // The dashboard link carries the local admin token in its fragment (the page asks for a login otherwise).
    expect(output).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:8080\/dashboard\/#token=[\w.-]+$/m);
    // Podman is installed here and no engine answers in this clean environment: up starts Podman's service for its schedulers.
    expect(output).toMatch(/^jobs run in containers on unix:\/\/\S+ \(podman service started by this process, pid \d+\)$/m);
    expect(output).toContain('push the example: bin/infrabox push examples/multi-cluster --follow\n');
    const dashboard = await fetch('http://127.0.0.1:8080/dashboard');
    expect(dashboard.status).toBe(200);

    // The push, from the clone, with no flags but the folder (API and token from .infrabox/local.json).
    const pushed = await cli(['push', 'examples/multi-cluster/', '--follow']);
    const buildId = pushed.stdout.split('\n')[0]!.trim();
    expect(buildId).toMatch(/^[0-9a-f-]{36}$/);

    const jobs = JSON.parse((await cli(['jobs', buildId, '--json'])).stdout) as Array<{ id: string; name: string; state: string; cluster: string | null }>;
    const clusters = JSON.parse((await cli(['clusters', '--json'])).stdout) as Array<{ name: string; labels: string[] }>;
    const definition = JSON.parse(await readFile(path.join(clone, 'examples/multi-cluster/infrabox.json'), 'utf8')) as {
      jobs: Array<{ name: string; cluster?: { selector?: string[] } }>;
    };
    expect(jobs.map((j) => j.name).sort()).toEqual(definition.jobs.map((j) => j.name).sort());
    for (const job of definition.jobs) {
      const ran = jobs.find((j) => j.name === job.name)!;
      expect({ job: job.name, state: ran.state }).toEqual({ job: job.name, state: 'finished' });
      const selector = job.cluster?.selector ?? [];
      const allowed = clusters.filter((c) => selector.every((label) => c.labels.includes(label))).map((c) => c.name);
      expect({ job: job.name, cluster: allowed.includes(ran.cluster!) }).toEqual({ job: job.name, cluster: true });
    }
    // In the example the selectors name exactly one cluster each: GCP and AWS.
    expect(jobs.find((j) => j.name === 'build')!.cluster).toBe('worker-gcp');
    expect(jobs.find((j) => j.name === 'test')!.cluster).toBe('worker-aws');
    // …and the test job on the AWS worker read the output the GCP worker's build job wrote.
    const testLog = await cli(['logs', jobs.find((j) => j.name === 'test')!.id]);
    expect(testLog.stdout).toBe('built on worker-gcp\ntested on worker-aws\n');
    // …and use-image on the AWS worker ran the image the image job built on the GCP worker (one engine here).
    const useImage = await cli(['logs', `${buildId}/use-image`]);
    expect(useImage.stdout).toBe('built into the image by the image job\n');

    // A project with a workflow include: the included definition is read from the uploaded source.
    const project = path.join(dir, 'with-include');
    await mkdir(path.join(project, 'ci'), { recursive: true });
    const job = (name: string, extra: object = {}) => ({ name, type: 'docker-image', image: 'alpine:3.20', command: ['sh', '-c', `echo ${name}`], ...extra });
    await writeFile(path.join(project, 'infrabox.json'), JSON.stringify({
      version: 1,
      jobs: [job('prep'), { name: 'sub', type: 'workflow', infrabox_file: 'ci/sub.json', depends_on: ['prep'] }],
    }));
    await writeFile(path.join(project, 'ci/sub.json'), JSON.stringify({ version: 1, jobs: [job('check'), job('report', { depends_on: ['check'] })] }));
    const included = (await cli(['push', project, '--follow'])).stdout.split('\n')[0]!.trim();
    const includedJobs = JSON.parse((await cli(['jobs', included, '--json'])).stdout) as Array<{ name: string; state: string }>;
    expect(includedJobs.map((j) => [j.name, j.state]).sort()).toEqual([
      ['prep', 'finished'],
      ['sub/check', 'finished'],
      ['sub/report', 'finished'],
    ]);

    // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
    process.kill(-started.pid!, 'SIGINT');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 60_000)))]);
    clearTimeout(timer);
    expect(code).not.toBe('timeout');
    expect(output).toContain('embedded PostgreSQL stopped');
    expect(output).toContain('all processes stopped');
    expect(groupAlive(started.pid!)).toBe(false);
    expect(await processesMentioning(clone)).toEqual([]);
    for (const port of FIXED_PORTS) expect({ port, free: await portFree(port) }).toEqual({ port, free: true });
  });
});
