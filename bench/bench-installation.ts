import { ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Database } from '@infrabox/database';
import { freePort } from './free-port';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Installation {
  name: string;
  dir: string;
  apiUrl: string;
  apps: Map<string, ChildProcess>;
  logs: Map<string, string[]>;
}

/** One installation (api, scheduler, output-forwarder as processes) on local storage, with the given executor. */
export async function startInstallation(name: string, label: string, databaseUrl: string, executor: 'process' | 'container'): Promise<Installation> {
  const dir = await mkdtemp(path.join(tmpdir(), `infrabox-bench-${name}-`));
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, `host: ${apiUrl}\ncluster:\n  name: ${name}\n  labels: ${label}\nstorage:\n  local:\n    enabled: true\n    path: ${dir}/storage\nscheduler:\n  executor: ${executor}\nauth:\n  signing_key: ${dir}/keys/token-key.pem\n`);
  const installation: Installation = { name, dir, apiUrl, apps: new Map(), logs: new Map() };
  for (const app of ['api', 'scheduler', 'output-forwarder']) {
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'apps', app, 'src', 'main.js'), '--config', config], {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: databaseUrl, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    child.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
    installation.apps.set(app, child);
    installation.logs.set(app, lines);
  }
  for (const [app, lines] of installation.logs) {
    const deadline = Date.now() + 60_000;
    while (!lines.some((l) => l.includes('is running'))) {
      if (Date.now() > deadline) throw new Error(`${name} ${app} did not start`);
      await sleep(100);
    }
  }
  return installation;
}


/** Waits until every job of the build has ended; throws unless all finished. */
export async function untilBuildFinished(db: Database, buildId: string, pollMs: number): Promise<void> {
  for (;;) {
    const rows = await db.query<{ state: string; message: string | null }>('SELECT state, message FROM job WHERE build_id = $1', [buildId]);
    if (rows.every((r) => !['queued', 'scheduled', 'running'].includes(r.state))) {
      const bad = rows.find((r) => r.state !== 'finished');
      if (bad) throw new Error(`a job ended ${bad.state}: ${bad.message}`);
      return;
    }
    await sleep(pollMs);
  }
}

/** Stops every app of the installations (SIGTERM, then `graceMs` to exit) and removes their folders. */
export async function stopInstallations(installations: readonly Installation[], graceMs: number): Promise<void> {
  for (const i of installations) for (const child of i.apps.values()) child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, graceMs));
  for (const i of installations) await rm(i.dir, { recursive: true, force: true });
}
