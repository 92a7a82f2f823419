import path from 'node:path';
import { CliError } from '../cli-error';
import type { SharedPostgresPlan } from './installation.plan';
import { describeExit, ManagedProcess } from './managed.process';
import { LinePrefix } from './output.prefixer';
import type { SharedPostgresReady } from './shared-postgres.main';

const ENTRY_POINT = path.join(__dirname, 'shared-postgres.main.js');
/** The first start runs initdb, which takes a while on slow disks. */
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 40_000;

/** The embedded PostgreSQL shared by the installations of `infrabox up`, in its own process. */
export class SharedPostgres {
  private constructor(
    private readonly process: ManagedProcess,
    readonly url: string,
    /** False when a server was already running on that folder and port and was joined. */
    readonly owned: boolean,
  ) {}

  get exited(): ManagedProcess['exited'] {
    return this.process.exited;
  }

  get running(): boolean {
    return this.process.running;
  }

  static async start(plan: SharedPostgresPlan, prefix: LinePrefix, env: NodeJS.ProcessEnv): Promise<SharedPostgres> {
    const child = new ManagedProcess({ script: ENTRY_POINT, args: [plan.dataDir, String(plan.port)], env, prefix, ipc: true });
    let timer: NodeJS.Timeout | undefined;
    const died = child.exited.then((exit) => {
      throw new CliError(`embedded PostgreSQL (port ${plan.port}, data in ${plan.dataDir}) did not start: it ${describeExit(exit)}; see the [postgres] lines above`);
    });
    died.catch(() => undefined); // it also "dies" when stopped at the end; only the race cares
    try {
      const ready = await Promise.race([
        new Promise<SharedPostgresReady>((resolve) => child.onMessage((message) => resolve(message as SharedPostgresReady))),
        died,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new CliError(`embedded PostgreSQL did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
        }),
      ]);
      return new SharedPostgres(child, ready.url, ready.owned);
    } catch (error) {
      await stopProcess(child);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the server (if this run started it) and waits for its process to end. */
  stop(): Promise<void> {
    return stopProcess(this.process);
  }
}

async function stopProcess(child: ManagedProcess): Promise<void> {
  child.disconnect();
  const timer = setTimeout(() => child.signal('SIGKILL'), STOP_TIMEOUT_MS);
  await child.exited;
  clearTimeout(timer);
}
