import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CountingProxy } from './counting-proxy';
import { freePort, haSection, PROCESS_EXECUTOR } from './installation';
import { authSection } from './clusters';
import { TestProcess } from './processes';

export type AppName = 'api' | 'registry' | 'scheduler' | 'output-forwarder';
export const APPS: readonly AppName[] = ['api', 'registry', 'scheduler', 'output-forwarder'];

/** One cluster with several replicas of every app, each its own process, behind a counting proxy. */
export interface ReplicatedCluster {
  name: string;
  /** The proxy's URL: the cluster's `host`, which users, peers and probes use. */
  apiUrl: string;
  configFile: string;
  dir: string;
  proxy: CountingProxy;
  replicas: Record<AppName, TestProcess[]>;
  /** Starts one more replica of an app other than the api (the proxy knows only the first api replicas). */
  addReplica(app: Exclude<AppName, 'api'>): Promise<TestProcess>;
  stop(): Promise<void>;
}

export async function startReplicatedCluster(
  spec: { name: string; labels: string[] },
  options: { replicas: number; ha: { leaseSeconds: number; shutdownGraceSeconds: number } },
): Promise<ReplicatedCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), `infrabox-${spec.name}-`));
  const apiPorts = await Promise.all(Array.from({ length: options.replicas }, () => freePort()));
  const proxy = new CountingProxy(apiPorts);
  const apiUrl = `http://127.0.0.1:${await proxy.start()}`;
  const configFile = path.join(dir, 'config.yaml');
  await writeFile(
    configFile,
    `host: ${apiUrl}\ncluster:\n  name: ${spec.name}\n  labels: ${spec.labels.join(',')}\n` +
      `storage:\n  local:\n    enabled: true\n    path: ${dir}/storage\n${haSection(options.ha)}${PROCESS_EXECUTOR}${authSection(spec.name)}`,
  );
  const spawnApp = (app: AppName, port?: number) =>
    new TestProcess(`apps/${app}/src/main.js`, ['--config', configFile, ...(port ? ['--port', String(port)] : [])], {}, dir);
  const replicas = Object.fromEntries(APPS.map((app) => [app, [] as TestProcess[]])) as Record<AppName, TestProcess[]>;
  const running = (p: TestProcess, what: string) => p.waitFor((lines) => lines.some((l) => l.includes('is running')), 90_000, what);

  // The apis first: they apply the migrations; the others then start together.
  replicas.api = apiPorts.map((port) => spawnApp('api', port));
  await Promise.all(replicas.api.map((p, i) => running(p, `${spec.name} api #${i}`)));
  for (const app of APPS.filter((a) => a !== 'api')) replicas[app] = Array.from({ length: options.replicas }, () => spawnApp(app));
  await Promise.all(APPS.flatMap((app) => replicas[app].map((p, i) => running(p, `${spec.name} ${app} #${i}`))));

  return {
    name: spec.name,
    apiUrl,
    configFile,
    dir,
    proxy,
    replicas,
    async addReplica(app) {
      const process = spawnApp(app);
      replicas[app].push(process);
      await running(process, `${spec.name} extra ${app}`);
      return process;
    },
    async stop() {
      const all = APPS.flatMap((app) => replicas[app]);
      for (const p of all) p.kill('SIGTERM');
      const timer = setTimeout(() => all.forEach((p) => p.kill('SIGKILL')), 15_000);
      await Promise.all(all.map((p) => p.exited));
      clearTimeout(timer);
      await proxy.close();
    },
  };
}
