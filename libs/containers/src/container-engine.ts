import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

/** A Docker Engine API this process talks to: dockerd, or Podman's Docker-compatible service. */
export interface ContainerEngine {
  readonly docker: Docker;
  /** Its address as `DOCKER_HOST` takes it. */
  readonly url: string;
  /** Where it was found, for logs: `unix:///run/podman/podman.sock (podman 4.3.1)`. */
  readonly description: string;
  /** Stops the Podman service this process started (nothing for an engine found running). */
  close(): Promise<void>;
}

/** Said once when no engine answers and the config named no executor. */
export const NO_ENGINE_WARNING =
  'no container engine answers: jobs will run unisolated, as local processes of this user. For containers install Podman (apt-get install podman runc) or Docker, or set DOCKER_HOST; scheduler.executor: process silences this';

/** How long a ping or a started service gets to answer. */
const PING_TIMEOUT_MS = 2_000;
const SERVICE_START_MS = 30_000;
/** How long an engine `$DOCKER_HOST` names gets to answer (a loaded one can miss a ping or two). */
const DOCKER_HOST_WAIT_MS = 15_000;

/**
 * Where a Podman service started by InfraBox listens: one per user, shared by every app of every
 * installation of that user on this host (the first to need it starts it).
 */
export function infraboxPodmanSocket(): string {
  const runtimeDir = process.getuid?.() === 0 ? '/run/infrabox' : (process.env.XDG_RUNTIME_DIR ?? path.join(tmpdir(), `infrabox-${process.getuid?.() ?? 'user'}`));
  return path.join(runtimeDir, process.getuid?.() === 0 ? 'podman.sock' : path.join('infrabox', 'podman.sock'));
}

/**
 * The engines to try, in order: `$DOCKER_HOST`, Docker's socket, Podman's sockets, InfraBox's own
 * Podman service. (When `$DOCKER_HOST` is set, `findContainerEngine` takes that one only.)
 */
export function engineCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: string[] = [];
  if (env.DOCKER_HOST) candidates.push(env.DOCKER_HOST);
  candidates.push('unix:///var/run/docker.sock', 'unix:///run/podman/podman.sock');
  if (env.XDG_RUNTIME_DIR) candidates.push(`unix://${env.XDG_RUNTIME_DIR}/podman/podman.sock`);
  candidates.push(`unix://${infraboxPodmanSocket()}`);
  return [...new Set(candidates)];
}

/** A dockerode client for `unix:///path`, `tcp://host:port` or `http(s)://host:port`. */
export function dockerClient(url: string): Docker {
  // No idle connections kept (Node's default agent keeps them): they would hold a stopping
  // process, and Podman's service waits for open connections when it stops.
  // (docker-modem takes `agent`; @types/dockerode does not list it.)
  const agent = { agent: new http.Agent({ keepAlive: false }) } as Docker.DockerOptions;
  if (url.startsWith('unix://')) return new Docker({ socketPath: url.slice('unix://'.length), timeout: 0, ...agent });
  const parsed = new URL(url.replace(/^tcp:/, 'http:'));
  return new Docker({ host: parsed.hostname, port: Number(parsed.port || 2375), protocol: parsed.protocol === 'https:' ? 'https' : 'http', ...agent });
}

async function answers(docker: Docker): Promise<string | null> {
  try {
    const version = await withTimeout(docker.version(), PING_TIMEOUT_MS);
    const podman = version.Components?.find((c) => c.Name.toLowerCase().includes('podman'));
    return podman ? `podman ${podman.Version}` : `docker ${version.Version}`;
  } catch {
    return null;
  }
}

/**
 * Finds a container engine: the one `$DOCKER_HOST` names (only that one, given time to answer);
 * else the first candidate that answers; else, when Podman is installed,
 * starts its service (`podman --runtime runc system service`) on InfraBox's socket and waits
 * for it. Null when there is none (the caller says what that means).
 */
export async function findContainerEngine(env: NodeJS.ProcessEnv = process.env, options: PodmanServiceOptions = {}): Promise<ContainerEngine | null> {
  if (env.DOCKER_HOST) return engineAt(env.DOCKER_HOST, options.dockerHostWaitMs ?? DOCKER_HOST_WAIT_MS);
  for (const url of engineCandidates(env)) {
    if (url.startsWith('unix://') && !existsSync(url.slice('unix://'.length))) continue;
    const docker = dockerClient(url);
    const version = await answers(docker);
    if (version) return { docker, url, description: `${url} (${version})`, close: async () => undefined };
  }
  if (!podmanInstalled(env)) return null;
  return startPodmanService(infraboxPodmanSocket(), options);
}

/**
 * The engine `$DOCKER_HOST` names, as Docker's own client takes it: that one only, never another
 * found instead (a busy engine that misses a ping would otherwise be swapped for a different one,
 * with other registries and images). It gets `waitMs` to answer, then the error names it.
 */
async function engineAt(url: string, waitMs: number): Promise<ContainerEngine> {
  const docker = dockerClient(url);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const version = await answers(docker);
    if (version) return { docker, url, description: `${url} (${version})`, close: async () => undefined };
    if (Date.now() >= deadline) throw new Error(`DOCKER_HOST is ${url}, but no container engine answered there within ${Math.round(waitMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function podmanInstalled(env: NodeJS.ProcessEnv): boolean {
  return spawnSync('podman', ['--version'], { stdio: 'ignore', env }).status === 0;
}

/**
 * Starts Podman's Docker-compatible service on `socket` (runc: crun fails on some kernels'
 * cgroup setups; stack-notes.md) and waits until it answers. The service stays as long as the
 * process that started it; containers it started end with their jobs.
 */
export async function startPodmanService(socket: string, options: PodmanServiceOptions = {}): Promise<ContainerEngine> {
  await mkdir(path.dirname(socket), { recursive: true, mode: 0o700 });
  await rm(socket, { force: true });
  const url = `unix://${socket}`;
  const registriesConf = `${socket}.registries.conf`;
  await writeFile(registriesConf, renderRegistriesConf(options.insecureRegistries ?? []));
  // Its messages go to a file beside the socket: a pipe would tie this process's life to it.
  const logFile = `${socket}.log`;
  const log = openSync(logFile, 'w');
  const child: ChildProcess = spawn('podman', ['--runtime', 'runc', 'system', 'service', '--time=0', url], {
    stdio: ['ignore', 'ignore', log],
    env: { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf },
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lastWords = () => readFileSync(logFile, 'utf8').trim().slice(-2_000) || 'no message';
  const docker = dockerClient(url);
  const deadline = Date.now() + SERVICE_START_MS;
  for (;;) {
    const version = existsSync(socket) ? await answers(docker) : null;
    if (version) break;
    if (child.exitCode !== null) throw new Error(`podman system service exited with code ${child.exitCode}: ${lastWords()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`podman system service did not answer on ${socket} within ${SERVICE_START_MS / 1000} s: ${lastWords()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.unref();
  return {
    docker,
    url,
    description: `${url} (podman service started by this process, pid ${child.pid})`,
    close: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await withTimeout(exited, 5_000).catch(() => child.kill('SIGKILL'));
      await rm(logFile, { force: true });
      await rm(registriesConf, { force: true });
    },
  };
}

export interface PodmanServiceOptions {
  /** How long the engine `$DOCKER_HOST` names gets to answer (default 15 s). */
  dockerHostWaitMs?: number;
  /**
   * Registries the engine reaches over plain HTTP (`host:port`): the clusters' own registries,
   * which serve on loopback locally. Podman reads the list once, when its service starts.
   */
  insecureRegistries?: readonly string[];
}

/**
 * The service's registries.conf: short names resolve on Docker Hub (as with dockerd), and the
 * given registries are spoken to over HTTP. A location without a port ("127.0.0.1") also covers
 * that host's every port in Podman 4.
 */
export function renderRegistriesConf(insecure: readonly string[]): string {
  const entries = insecure.map((location) => `\n[[registry]]\nlocation = ${JSON.stringify(location)}\ninsecure = true\n`);
  return `unqualified-search-registries = ["docker.io"]\nshort-name-mode = "permissive"\n${entries.join('')}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** The engine's own message (`{"message": …}` in the response body), else the error's. */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  if (json?.message) return json.message;
  const reason = (error as { reason?: string }).reason;
  const message = (error as Error).message ?? String(error);
  return reason && !message.includes(reason) ? `${reason}: ${message}` : message;
}

/**
 * Follows a stream of the engine's progress lines (a pull, a build) to its end: rejects with
 * the first line that reports an error; `onEvent` sees every line.
 */
export function followEngineProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent: (event: { stream?: string }) => void = () => undefined): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (error: Error | null, events: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
        const failed = events?.find((e) => e.error || e.errorDetail);
        if (error) reject(error);
        else if (failed) reject(new Error(failed.errorDetail?.message ?? failed.error));
        else resolve();
      },
      onEvent,
    ),
  );
}
