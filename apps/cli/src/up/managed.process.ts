import { ChildProcess, spawn } from 'node:child_process';
import { LinePrefix, pipePrefixed } from './output.prefixer';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type ManagedProcessOptions = (
  | {
      /** Compiled script run with this Node binary. */
      script: string;
      executable?: undefined;
    }
  | {
      /** A program of its own (e.g. /usr/bin/docker-registry), run with `args`. */
      executable: string;
      script?: undefined;
    }
) & {
  args: string[];
  env: NodeJS.ProcessEnv;
  prefix: LinePrefix;
  /** Opens a Node IPC channel to the child (see `messages` and `disconnect`). */
  ipc?: boolean;
};

/**
 * A child process (a Node script, or a program of its own) in its own process group, its stdout and stderr copied line by line with
 * a prefix. Its own group keeps the terminal's Ctrl-C away from it: `infrabox up` alone decides
 * when and in which order its children stop, and signals reach everything the child started.
 */
export class ManagedProcess {
  readonly exited: Promise<ProcessExit>;
  private readonly child: ChildProcess;
  private exit: ProcessExit | undefined;

  constructor(options: ManagedProcessOptions) {
    const [command, args] = options.executable !== undefined ? [options.executable, options.args] : [process.execPath, [options.script, ...options.args]];
    this.child = spawn(command, args, {
      env: options.env,
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const output = [
      pipePrefixed(this.child.stdout!, process.stdout, options.prefix),
      pipePrefixed(this.child.stderr!, process.stderr, options.prefix),
    ];
    const exit = new Promise<ProcessExit>((resolve) => {
      this.child.on('error', () => resolve({ code: null, signal: null })); // could not be spawned
      this.child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    // Resolve once its output is flushed too, so "exited" is printed after its last line.
    this.exited = exit.then(async (result) => {
      this.exit = result;
      await Promise.all(output);
      return result;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Calls `listener` with each IPC message of the child. */
  onMessage(listener: (message: unknown) => void): void {
    this.child.on('message', listener);
  }

  /** Closes the IPC channel, which the child may take as "stop". */
  disconnect(): void {
    if (this.child.connected) this.child.disconnect();
  }

  /** Signals the child's whole process group (it and anything it started). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      this.child.kill(signal);
    }
  }
}

/** `exited with code 1`, `was killed by SIGKILL`. */
export function describeExit(exit: ProcessExit): string {
  if (exit.signal !== null) return `was killed by ${exit.signal}`;
  return exit.code === null ? 'could not be started' : `exited with code ${exit.code}`;
}
