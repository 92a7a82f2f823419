import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../free-port';
import { AppProcess } from './app.process';
import { TransferCutProxy } from './transfer-cut.proxy';

const APPS = [
  { name: 'api', script: 'apps/api/src/main.js' },
  { name: 'registry', script: 'apps/registry/src/main.js' },
  { name: 'scheduler', script: 'apps/scheduler/src/main.js' },
  { name: 'output-forwarder', script: 'apps/output-forwarder/src/main.js' },
] as const;

export interface InstallationSpec {
  /** null: the master (a config without a `cluster` section). */
  cluster: { name: string; label: string } | null;
  dir: string;
  databaseUrl: string;
  cutEvery: number;
}

/**
 * One installation (master or worker) as four app processes, its api behind a proxy that cuts
 * one in `cutEvery` output transfers: the cluster's `host` is the proxy, the api listens behind it.
 */
export class SoakInstallation {
  readonly name: string;
  readonly storageDir: string;
  private apps: AppProcess[] = [];
  private proxy: TransferCutProxy | null = null;
  private configFile = '';
  private apiPort = 0;
  private starts = 0;

  constructor(private readonly spec: InstallationSpec) {
    this.name = spec.cluster?.name ?? 'master';
    this.storageDir = path.join(spec.dir, 'storage');
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.apiPort}`;
  }

  get transfersCut(): number {
    return this.proxy?.cuts ?? 0;
  }

  get schedulerPid(): number | undefined {
    return this.apps.find((a) => a.name.endsWith(' scheduler'))?.pid;
  }

  /** Apps of the current start that have exited: none should, but for the chaos driver's SIGKILL. */
  get exitedApps(): AppProcess[] {
    return this.apps.filter((a) => !a.alive);
  }

  get liveApps(): AppProcess[] {
    return this.apps.filter((a) => a.alive);
  }

  get pids(): number[] {
    return this.apps.filter((a) => a.alive).map((a) => a.pid);
  }

  /** This installation's token signing key file (absolute: its apps run in other folders). */
  get signingKey(): string {
    return path.join(this.spec.dir, 'keys', 'token-key.pem');
  }

  async start(): Promise<void> {
    await mkdir(this.spec.dir, { recursive: true });
    this.apiPort = await freePort();
    this.proxy = new TransferCutProxy(this.apiPort, this.spec.cutEvery);
    const hostPort = await this.proxy.start();
    this.configFile = path.join(this.spec.dir, 'config.yaml');
    const cluster = this.spec.cluster ? `cluster:\n  name: ${this.spec.cluster.name}\n  labels: ${this.spec.cluster.label}\n` : '';
    await writeFile(this.configFile, `host: http://127.0.0.1:${hostPort}\n${cluster}storage:\n  local:\n    enabled: true\n    path: ${this.storageDir}\nscheduler:\n  executor: process\nauth:\n  signing_key: ${this.signingKey}\n`);
    await this.startApps();
  }

  /** (Re)starts every app and waits until each says it is running. */
  async startApps(): Promise<void> {
    const round = this.starts++;
    const env = { ...process.env, DATABASE_URL: this.spec.databaseUrl };
    this.apps = APPS.map(
      (app) =>
        new AppProcess(
          `${this.name} ${app.name}`,
          app.script,
          ['--config', this.configFile, ...(app.name === 'api' ? ['--port', String(this.apiPort)] : [])],
          path.join(this.spec.dir, `${app.name}.${round}.log`),
          env,
          this.spec.dir,
        ),
    );
    await Promise.all(this.apps.map((app) => app.ready()));
  }

  /** SIGKILLs every app of the installation, as a machine failure would. */
  async kill(): Promise<void> {
    await Promise.all(this.apps.map((app) => app.stop('SIGKILL')));
  }

  async stop(): Promise<void> {
    await Promise.all(this.apps.map((app) => app.stop('SIGTERM')));
    await this.proxy?.close();
  }
}

