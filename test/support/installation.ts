import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RegistryOptions } from '../../apps/registry/src/registry.options';
import { TestProcess } from './processes';

export interface ClusterSpec {
  name: string;
  labels?: string[];
  /** The `storage:` section's body (indented by two spaces); default: a local folder. */
  storage?: (dir: string) => string;
}

/** One installation (cluster) as separate processes: api, registry, scheduler(s). */
export interface RunningCluster {
  name: string;
  apiUrl: string;
  configFile: string;
  processes: TestProcess[];
  /** SIGKILL every process of the cluster, as a machine failure would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function startCluster(
  spec: ClusterSpec,
  options: { registry: Partial<RegistryOptions>; schedulers?: number; forwarder?: boolean },
): Promise<RunningCluster> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), `infrabox-${spec.name}-`));
  const apiUrl = `http://127.0.0.1:${port}`;
  const configFile = path.join(dir, 'config.yaml');
  const labels = spec.labels?.length ? `\n  labels: ${spec.labels.join(',')}` : '';
  const storage = spec.storage?.(dir) ?? `  local:\n    enabled: true\n    path: ${dir}/storage\n`;
  await writeFile(configFile, `host: ${apiUrl}\ncluster:\n  name: ${spec.name}${labels}\nstorage:\n${storage}`);

  const processes = [
    new TestProcess('apps/api/src/main.js', ['--config', configFile]),
    new TestProcess('test/support/registry-peer.js', [
      JSON.stringify({ cluster: spec.name, labels: spec.labels ?? [], apiUrl, options: options.registry }),
    ]),
    ...Array.from({ length: options.schedulers ?? 1 }, () => new TestProcess('apps/scheduler/src/main.js', ['--config', configFile], {}, dir)),
    ...(options.forwarder ? [new TestProcess('apps/output-forwarder/src/main.js', ['--config', configFile], {}, dir)] : []),
  ];
  await processes[1].waitFor((lines) => lines.includes('READY'), 60_000, `${spec.name} registry`);
  await processes[0].waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, `${spec.name} api`);
  for (const app of processes.slice(2)) {
    await app.waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, `${spec.name} app`);
  }
  const end = async (signal: NodeJS.Signals) => {
    for (const p of processes) p.kill(signal);
    await Promise.all(processes.map((p) => p.exited));
  };
  return { name: spec.name, apiUrl, configFile, processes, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

export async function api<T>(baseUrl: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
