import { existsSync } from 'node:fs';
import { authOf, type InstallConfig, registryOf } from '@infrabox/config';
import { ContainerEngine, findContainerEngine, NO_ENGINE_WARNING } from '@infrabox/containers';
import { childEnvironment } from '../cli-environment';
import { CliError, EXIT_FAILURE, EXIT_OK } from '../cli-error';
import { appEntryPoint, CLI_BIN, displayPath, EXAMPLE_PROJECT } from '../cli-paths';
import type { CliContext } from '../cli.context';
import { type LocalState, localStatePath, writeLocalState } from '../local-state.store';
import { waitUntilReady } from './api.readiness';
import { findDockerRegistry, isDockerRegistryServing, NO_DOCKER_REGISTRY_NOTICE, type PreparedDockerRegistry, prepareDockerRegistry } from './docker-registry.launcher';
import type { LocalRunPlan, PlannedInstallation } from './installation.plan';
import { describeExit, ManagedProcess, type ManagedProcessOptions } from './managed.process';
import { LinePrefix } from './output.prefixer';
import { isPortFree } from './port.check';
import { LOCAL_ADMIN_TOKEN_TTL_SECONDS, mintAdminToken } from '../admin/admin-token';
import { LOCAL_PROJECT, requestProjectToken } from './project-token';
import { SharedPostgres } from './shared-postgres.launcher';

/** The apps of one installation, each its own process. */
export const APPS = ['api', 'registry', 'scheduler', 'output-forwarder'] as const;

/** The label of an installation's image registry process (`[<cluster> docker-registry]`). */
export const DOCKER_REGISTRY_LABEL = 'docker-registry';

const KILL_AFTER_MS = 10_000;
/** A signal this soon after the first is the same Ctrl-C (a terminal and npm may both send it). */
const REPEATED_SIGNAL_MS = 2_000;
const SLOW_START_NOTICE_MS = 60_000;
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export interface LocalRunOptions {
  /** Folder for local.json. */
  stateDir: string;
  /** Colour the prefixes (stdout is a terminal). */
  colour: boolean;
}

/** A process's options but its prefix (kept apart for each member of the union). */
type WithoutPrefix<T> = T extends unknown ? Omit<T, 'prefix'> : never;

interface RunningApp {
  label: string;
  process: ManagedProcess;
}

/**
 * Runs the apps of several installations as child processes until Ctrl-C/SIGTERM (exit 0) or
 * until one of them exits on its own (exit 1). Stopping is ordered: every app gets SIGTERM (and
 * SIGKILL after 10 s), and only when all are gone is the shared PostgreSQL stopped.
 */
export class LocalRun {
  private readonly apps: RunningApp[] = [];
  /** The program and each installation's prepared registry, when docker-registry is installed. */
  private dockerRegistry: { binary: string; installations: Map<PlannedInstallation, PreparedDockerRegistry> } | undefined;
  private postgres: Promise<SharedPostgres | undefined> = Promise.resolve(undefined);
  private engine: ContainerEngine | null = null;
  private stopping: Promise<number> | undefined;
  private forced = false;
  private firstSignalAt = 0;
  private resolveFinished: (exitCode: number) => void = () => undefined;
  /** Resolves with the exit code once everything has stopped. */
  private readonly finished = new Promise<number>((resolve) => (this.resolveFinished = resolve));
  private readonly signalHandler = (signal: NodeJS.Signals): void => this.onSignal(signal);

  constructor(
    private readonly plan: LocalRunPlan,
    private readonly options: LocalRunOptions,
    private readonly context: CliContext,
  ) {}

  async run(): Promise<number> {
    await this.preflight();
    for (const signal of SIGNALS) process.on(signal, this.signalHandler);
    try {
      const postgres = await this.startPostgres();
      const engineEnv = await this.startEngine();
      if (this.stopping === undefined) this.startApps(postgres, engineEnv);
      if (this.stopping === undefined) this.announce();
      // Runs until a signal or an app's exit has stopped everything.
      return await this.finished;
    } catch (error) {
      await this.stop(EXIT_FAILURE);
      throw error;
    } finally {
      for (const signal of SIGNALS) process.off(signal, this.signalHandler);
    }
  }

  /** Everything that can be checked before a process starts. */
  private async preflight(): Promise<void> {
    const missing = APPS.map(appEntryPoint).filter((file) => !existsSync(file));
    if (missing.length > 0) throw new CliError(`${missing.join(', ')} not found: run \`npm run build\` first`);
    for (const installation of this.plan.installations) {
      if (!(await isPortFree(installation.config.listenPort))) {
        throw new CliError(
          `port ${installation.config.listenPort} of cluster '${installation.config.cluster.name}' (${displayPath(installation.configFile)}) is already in use; is another \`infrabox up\` running?`,
        );
      }
    }
    await this.prepareDockerRegistries();
  }

  /** Keys and config.yml of each installation's registry; one line and no registries when the program is missing. */
  private async prepareDockerRegistries(): Promise<void> {
    const binary = findDockerRegistry();
    if (binary === undefined) {
      this.context.stdout(NO_DOCKER_REGISTRY_NOTICE);
      return;
    }
    const installations = new Map<PlannedInstallation, PreparedDockerRegistry>();
    for (const installation of this.plan.installations) {
      const port = registryOf(installation.config).port;
      if (!(await isPortFree(port))) {
        throw new CliError(
          `registry port ${port} of cluster '${installation.config.cluster.name}' (${displayPath(installation.configFile)}) is already in use; set registry.port, or stop what listens there`,
        );
      }
      installations.set(installation, await prepareDockerRegistry(installation.config, this.options.stateDir));
    }
    this.dockerRegistry = { binary, installations };
  }

  private async startPostgres(): Promise<SharedPostgres | undefined> {
    const plan = this.plan.sharedPostgres;
    if (plan === undefined) return undefined;
    this.context.stdout(`starting the shared embedded PostgreSQL on port ${plan.port} (data in ${plan.dataDir})`);
    this.postgres = SharedPostgres.start(plan, new LinePrefix('postgres', undefined, false), childEnvironment({}));
    const postgres = await this.postgres;
    this.context.stdout(`embedded PostgreSQL ${postgres!.owned ? 'started' : 'already running, joined'}: ${redact(postgres!.url)}`);
    void postgres!.exited.then((exit) => {
      if (this.stopping !== undefined) return;
      this.context.stderr(`[postgres] ${describeExit(exit)}`);
      void this.stop(EXIT_FAILURE);
    });
    return postgres;
  }

  /**
   * One container engine for every installation's scheduler (found, or a Podman service started
   * here and stopped last): its address goes to the apps as DOCKER_HOST. Without one, one line
   * says that jobs run unisolated as local processes, and how to get containers.
   */
  private async startEngine(): Promise<Record<string, string>> {
    const executors = this.plan.installations.map((i) => i.config.scheduler);
    if (!executors.some((s) => s?.executor === 'container')) return {};
    // A Podman service started here speaks plain HTTP to the installations' registries (loopback).
    const insecureRegistries = this.plan.installations.map((i) => new URL(registryOf(i.config).url).host);
    const engine = await findContainerEngine(childEnvironment({}), { insecureRegistries }).catch((error: Error) => {
      this.context.stderr(`no container engine: ${error.message}`);
      return null;
    });
    if (!engine) {
      if (executors.some((s) => s?.executor === 'container' && s.orProcess)) this.context.stderr(`warning: ${NO_ENGINE_WARNING}`);
      return {};
    }
    this.engine = engine;
    this.context.stdout(`jobs run in containers on ${engine.description}`);
    return { DOCKER_HOST: engine.url };
  }

  private startApps(postgres: SharedPostgres | undefined, engineEnv: Record<string, string>): void {
    this.plan.installations.forEach((installation, index) => {
      const cluster = installation.config.cluster.name;
      const env = childEnvironment({
        ...engineEnv,
        ...(installation.config.database.kind === 'embedded' && postgres !== undefined && { DATABASE_URL: postgres.url }),
        ...(!this.options.colour && { NO_COLOR: '1' }),
      });
      for (const app of APPS) {
        this.startProcess(`${cluster} ${app}`, index, { script: appEntryPoint(app), args: ['--config', installation.configFile], env });
      }
      const registry = this.dockerRegistry?.installations.get(installation);
      if (registry !== undefined) {
        this.startProcess(`${cluster} ${DOCKER_REGISTRY_LABEL}`, index, {
          executable: this.dockerRegistry!.binary,
          args: ['serve', registry.configFile],
          env: childEnvironment(registryStorageSecrets(installation.config)),
        });
      }
    });
  }

  /** Starts one child; when it exits on its own, everything stops (exit code 1). */
  private startProcess(label: string, colourIndex: number, options: WithoutPrefix<ManagedProcessOptions>): void {
    const prefix = new LinePrefix(label, colourIndex, this.options.colour);
    const child = new ManagedProcess({ ...options, prefix });
    this.apps.push({ label, process: child });
    this.context.stdout(prefix.line(`started (pid ${child.pid ?? '?'})`).trimEnd());
    void child.exited.then((exit) => {
      if (this.stopping !== undefined) {
        const clean = exit.code === 0 || exit.signal === 'SIGTERM' || exit.signal === 'SIGINT';
        this.context.stdout(prefix.line(clean ? 'stopped' : `stopped: it ${describeExit(exit)}`).trimEnd());
        return;
      }
      this.context.stderr(prefix.line(describeExit(exit)).trimEnd());
      void this.stop(EXIT_FAILURE);
    });
  }

  /** Resolves true once every registry answers `/v2/` (each says so, with where it stores), false when stopped first. */
  private waitForDockerRegistries(): Promise<boolean> {
    const prepared = [...(this.dockerRegistry?.installations ?? [])];
    const byUrl = new Map(prepared.map(([installation, registry]) => [registry.localUrl, { installation, registry }]));
    return waitUntilReady([...byUrl.keys()], () => this.stopping !== undefined, 250, isDockerRegistryServing, (url) => {
      const { installation, registry } = byUrl.get(url)!;
      const prefix = new LinePrefix(`${installation.config.cluster.name} ${DOCKER_REGISTRY_LABEL}`, this.plan.installations.indexOf(installation), this.options.colour);
      this.context.stdout(prefix.line(`serving at ${registry.url} (images in ${registry.storage}; tokens from the cluster's api)`).trimEnd());
    });
  }

  /**
   * Writes local.json; once every API is ready, adds a project token from the master's API to it
   * (for `infrabox push`), then tells where the master's API is.
   */
  private announce(): void {
    const installations = this.plan.installations.map((i) => ({ cluster: i.config.cluster.name, api: i.config.apiUrl }));
    const file = writeLocalState(this.options.stateDir, { installations });
    this.context.stdout(`wrote ${displayPath(file)}`);
    const master = this.plan.installations.find((i) => i.config.cluster.isMaster);
    const clusters = installations.map((i) => i.cluster).join(', ');
    const notice = setTimeout(() => {
      this.context.stdout(`still waiting for the APIs to report ready (GET /health/ready) after ${SLOW_START_NOTICE_MS / 1000} s`);
    }, SLOW_START_NOTICE_MS);
    // Probe locally: the apps listen on all interfaces, and `host` may be a public name.
    const local = (i: PlannedInstallation) => `http://127.0.0.1:${i.config.listenPort}`;
    const probes = this.plan.installations.map(local);
    const registries = this.waitForDockerRegistries();
    void waitUntilReady(probes, () => this.stopping !== undefined)
      .then(async (ready) => {
        clearTimeout(notice);
        if (!ready || !(await registries)) return;
        let adminToken: string | undefined;
        if (master !== undefined) {
          const tokens = await this.localTokens(master, local(master));
          if (this.stopping !== undefined) return;
          if (tokens.ok) this.saveTokens(installations, tokens);
          else this.context.stderr(tokens.warning);
          adminToken = tokens.ok ? tokens.adminToken : undefined;
        }
        const where = master ? `master API at ${master.config.apiUrl}` : 'no master among these configurations';
        this.context.stdout(`InfraBox is up: ${where} (clusters: ${clusters}); Ctrl-C stops everything`);
        if (master !== undefined) this.context.stdout(`dashboard: ${dashboardLink(master.config, adminToken)}`);
        if (existsSync(EXAMPLE_PROJECT)) this.context.stdout(`push the example: ${displayPath(CLI_BIN)} push ${displayPath(EXAMPLE_PROJECT)} --follow`);
      });
  }

  /**
   * An admin token signed with the master's key (from the database, as `infrabox admin token`
   * does), and with it a project token from the master's API. Never throws: a failure is a warning.
   */
  private async localTokens(
    master: PlannedInstallation,
    apiUrl: string,
  ): Promise<{ ok: true; adminToken: string; token: string } | { ok: false; warning: string }> {
    let adminToken: string;
    try {
      const postgres = await this.postgres;
      const databaseUrl = master.config.database.kind === 'embedded' ? postgres?.url : undefined;
      adminToken = await mintAdminToken(master.config, LOCAL_ADMIN_TOKEN_TTL_SECONDS, databaseUrl);
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
      return { ok: false, warning: `warning: no admin token (${reason}); \`infrabox push\` and \`infrabox clusters enable/disable\` need --token or $INFRABOX_TOKEN` };
    }
    const project = await requestProjectToken(apiUrl, adminToken, LOCAL_PROJECT);
    return project.ok ? { ok: true, adminToken, token: project.token } : project;
  }

  /** Rewrites local.json with the tokens; a failure is a warning, the apps keep running. */
  private saveTokens(installations: LocalState['installations'], tokens: { adminToken: string; token: string }): void {
    try {
      const file = writeLocalState(this.options.stateDir, { installations, project: LOCAL_PROJECT, token: tokens.token, adminToken: tokens.adminToken });
      this.context.stdout(`wrote an admin token and a token for project '${LOCAL_PROJECT}' to ${displayPath(file)}`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.context.stderr(`warning: could not write the project token to ${localStatePath(this.options.stateDir)} (${reason}); \`infrabox push\` needs --token or $INFRABOX_TOKEN`);
    }
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.stopping === undefined) {
      this.firstSignalAt = Date.now();
      this.context.stdout(`${signal}: stopping all apps (again to kill them at once)`);
      void this.stop(EXIT_OK);
    } else if (!this.forced && Date.now() - this.firstSignalAt > REPEATED_SIGNAL_MS) {
      this.forced = true;
      this.context.stdout(`${signal} again: killing all apps`);
      for (const app of this.apps) app.process.signal('SIGKILL');
    }
  }

  /** Stops everything once; later calls get the first call's exit code. */
  private stop(exitCode: number): Promise<number> {
    this.stopping ??= this.stopAll(exitCode).then((code) => {
      this.resolveFinished(code);
      return code;
    });
    return this.stopping;
  }

  private async stopAll(exitCode: number): Promise<number> {
    const running = this.apps.filter((app) => app.process.running);
    for (const app of running) app.process.signal('SIGTERM');
    const killTimer = setTimeout(() => {
      const left = this.apps.filter((app) => app.process.running);
      if (left.length === 0) return;
      this.context.stderr(`still running after ${KILL_AFTER_MS / 1000} s, killing: ${left.map((app) => app.label).join(', ')}`);
      for (const app of left) app.process.signal('SIGKILL');
    }, KILL_AFTER_MS);
    await Promise.all(this.apps.map((app) => app.process.exited));
    clearTimeout(killTimer);

    if (this.engine) await this.engine.close();
    const postgres = await this.postgres.catch(() => undefined);
    if (postgres?.running) {
      await postgres.stop();
      this.context.stdout(postgres.owned ? 'embedded PostgreSQL stopped' : 'left the joined embedded PostgreSQL running');
    }
    if (this.apps.length > 0 || postgres !== undefined) {
      this.context.stdout(`all processes stopped${exitCode === EXIT_OK ? '' : ` (exit code ${exitCode})`}`);
    }
    return exitCode;
  }
}

/**
 * The S3 keys of an installation's storage for its registry's s3 driver, which reads them from its
 * environment (renderRegistryConfig leaves secrets out of config.yml).
 */
function registryStorageSecrets(config: InstallConfig): Record<string, string> {
  const storage = config.storage;
  if (storage.kind !== 's3') return {};
  return {
    ...(storage.accessKeyId !== undefined && { REGISTRY_STORAGE_S3_ACCESSKEY: storage.accessKeyId }),
    ...(storage.secretAccessKey !== undefined && { REGISTRY_STORAGE_S3_SECRETKEY: storage.secretAccessKey }),
  };
}

/** The URL without its password, for the log. */
function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/**
 * The dashboard's address: with the provider to log in with, or for a local run without one, with
 * the local admin token in the fragment (the page keeps it for the tab; a fragment is never sent
 * to a server or written to its logs).
 */
function dashboardLink(config: InstallConfig, adminToken: string | undefined): string {
  const oidc = authOf(config).oidc;
  if (oidc !== undefined) return `${config.apiUrl}/dashboard (log in at ${oidc.issuer})`;
  return adminToken === undefined ? `${config.apiUrl}/dashboard` : `${config.apiUrl}/dashboard/#token=${adminToken}`;
}
