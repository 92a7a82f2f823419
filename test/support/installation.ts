import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RegistryOptions } from '../../apps/registry/src/registry.options';
import type { BuildDto, JobDto } from '@infrabox/jobs';
import { parseInstallConfig } from '@infrabox/config';
import { freePort } from '../../bench/free-port';
import { masterAdminToken } from './auth';
import { authSection } from './clusters';
import { databaseUrl, eventually } from './database';
import { type RunningDockerRegistry, startDockerRegistry } from './docker-registry';
import { TestProcess } from './processes';

export { freePort };

export interface ClusterSpec {
  /** `master` with `master: true`. */
  name: string;
  /** Write no `cluster` section: the installation is the master (it serves the dashboard). */
  master?: boolean;
  labels?: string[];
  /** `cluster.projects`: a protected cluster runs these projects' jobs only. */
  projects?: string[];
  /** The `storage:` section's body (indented by two spaces); default: a local folder. */
  storage?: (dir: string) => string;
  /** More top-level YAML for the config file (e.g. a `scheduler:` section). */
  extraConfig?: string;
  /** Run the cluster's image registry too (a real docker-registry on a free port, its api as token service). */
  imageRegistry?: boolean;
  /** The api's port (default: a free one), for configs that must name it before the cluster starts. */
  port?: number;
  /** More lines of the `auth:` section (indented by two spaces), e.g. `admins:` and `oidc:`. */
  auth?: string;
}

/** One installation (cluster) as separate processes: api, registry, scheduler(s). */
export interface RunningCluster {
  name: string;
  apiUrl: string;
  configFile: string;
  /** The cluster's docker-registry, when the spec asked for one. */
  imageRegistry?: RunningDockerRegistry;
  /** An admin token signed with this cluster's key (creates builds of any project, aborts jobs, enables clusters). */
  adminToken: string;
  processes: TestProcess[];
  /** SIGKILL every process of the cluster, as a machine failure would. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}


export async function startCluster(
  spec: ClusterSpec,
  options: {
    registry: Partial<RegistryOptions>;
    schedulers?: number;
    forwarder?: boolean;
    /** The config's `ha:` section (timings in seconds). */
    ha?: { leaseSeconds?: number; shutdownGraceSeconds?: number };
    /** Added to every process's environment (e.g. DATABASE_URL of a database of their own). */
    env?: NodeJS.ProcessEnv;
  },
): Promise<RunningCluster> {
  if (spec.master && spec.name !== 'master') throw new Error(`a master installation is named 'master', not '${spec.name}'`);
  const port = spec.port ?? (await freePort());
  const dir = await mkdtemp(path.join(tmpdir(), `infrabox-${spec.name}-`));
  const apiUrl = `http://127.0.0.1:${port}`;
  const configFile = path.join(dir, 'config.yaml');
  const labels = (spec.labels?.length ? `\n  labels: ${spec.labels.join(',')}` : '') + (spec.projects ? `\n  projects: [${spec.projects.join(', ')}]` : '');
  const storage = spec.storage?.(dir) ?? `  local:\n    enabled: true\n    path: ${dir}/storage\n`;
  const cluster = spec.master ? '' : `cluster:\n  name: ${spec.name}${labels}\n`;
  const registryPort = spec.imageRegistry ? await freePort() : undefined;
  const registrySection = registryPort === undefined ? '' : `registry:\n  port: ${registryPort}\n  signing_key: ${dir}/registry/signing-key.pem\n`;
  const configText = `host: ${apiUrl}\n${cluster}storage:\n${storage}${registrySection}${authSection(spec.name)}${spec.auth ?? ''}${haSection(options.ha)}${spec.extraConfig?.includes('scheduler:') ? spec.extraConfig : `${PROCESS_EXECUTOR}${spec.extraConfig ?? ''}`}`;
  await writeFile(configFile, configText);
  const env = options.env ?? {};
  const imageRegistry = registryPort === undefined ? undefined : await startDockerRegistry(parseInstallConfig(configText, { DATABASE_URL: env.DATABASE_URL ?? databaseUrl() }, dir), dir);

  const processes = [
    new TestProcess('apps/api/src/main.js', ['--config', configFile], env),
    new TestProcess('test/support/registry-peer.js', [
      JSON.stringify({ cluster: spec.name, labels: spec.labels ?? [], projects: spec.projects, apiUrl, registryPort, options: options.registry }),
    ], env),
    ...Array.from({ length: options.schedulers ?? 1 }, () => new TestProcess('apps/scheduler/src/main.js', ['--config', configFile], env, dir)),
    ...(options.forwarder ? [new TestProcess('apps/output-forwarder/src/main.js', ['--config', configFile], env, dir)] : []),
  ];
  await processes[1].waitFor((lines) => lines.includes('READY'), 60_000, `${spec.name} registry`);
  await processes[0].waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, `${spec.name} api`);
  for (const app of processes.slice(2)) {
    await app.waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, `${spec.name} app`);
  }
  const end = async (signal: NodeJS.Signals) => {
    for (const p of processes) p.kill(signal);
    await Promise.all([...processes.map((p) => p.exited), imageRegistry?.stop()]);
  };
  const adminToken = await masterAdminToken(env.DATABASE_URL);
  adminTokens.set(apiUrl, adminToken);
  return { name: spec.name, apiUrl, configFile, imageRegistry, adminToken, processes, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/**
 * The control-plane tests run their jobs' commands as local processes (they kill schedulers and
 * count processes); the container executor has tests of its own (test/containers).
 */
export const PROCESS_EXECUTOR = 'scheduler:\n  executor: process\n';

/** The config's `ha:` section, or nothing for the defaults. */
export function haSection(ha?: { leaseSeconds?: number; shutdownGraceSeconds?: number }): string {
  if (!ha) return '';
  const lines = [
    ...(ha.leaseSeconds === undefined ? [] : [`  lease_seconds: ${ha.leaseSeconds}`]),
    ...(ha.shutdownGraceSeconds === undefined ? [] : [`  shutdown_grace_seconds: ${ha.shutdownGraceSeconds}`]),
  ];
  return `ha:\n${lines.join('\n')}\n`;
}

/** A JSON request as an admin (the routes' authorization has tests of its own: test/auth). */
export async function api<T>(baseUrl: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  return apiAs<T>(await adminTokenFor(baseUrl), baseUrl, method, route, body);
}

/** The admin token {@link api} sends: of the cluster's database for one startCluster started, else of the tests' database. */
const adminTokens = new Map<string, string>();
let defaultAdminToken: Promise<string> | undefined;

/** An admin token the API at `baseUrl` accepts (reads need a login). */
export async function adminTokenFor(baseUrl: string): Promise<string> {
  return adminTokens.get(baseUrl) ?? (defaultAdminToken ??= masterAdminToken(databaseUrl(), 24 * 3600));
}

/** {@link api} with `Authorization: Bearer <token>` (none when `token` is undefined). */
export async function apiAs<T>(token: string | undefined, baseUrl: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const FINAL = ['finished', 'failure', 'error', 'killed', 'skipped', 'unstable'];

/** Waits until every job of the build has ended; its jobs by name. */
export async function settledJobs(apiUrl: string, buildId: string, timeoutMs = 120_000): Promise<Map<string, JobDto>> {
  let jobs: JobDto[] = [];
  await eventually(async () => {
    jobs = (await api<BuildDto>(apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.jobs!;
    return jobs.every((j) => FINAL.includes(j.state));
  }, timeoutMs, `build ${buildId} to end`);
  return new Map(jobs.map((j) => [j.name, j]));
}

/** A job's console output, all chunks joined. */
export async function consoleOf(apiUrl: string, jobId: string): Promise<string> {
  const chunks = (await api<Array<{ text: string }>>(apiUrl, 'GET', `/api/v1/jobs/${jobId}/console`)).body;
  return chunks.map((c) => c.text).join('');
}

/** Waits until exactly `names` are the active clusters (those other test files left behind are swept as lost). */
export async function onlyTheseActive(apiUrl: string, names: string[]): Promise<void> {
  await eventually(async () => {
    const clusters = (await api<Array<{ name: string; active: boolean }>>(apiUrl, 'GET', '/api/v1/clusters')).body;
    const active = clusters.filter((c) => c.active).map((c) => c.name).sort();
    return JSON.stringify(active) === JSON.stringify([...names].sort());
  }, 30_000, 'only this suite’s clusters active');
}
