import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, WriteStream } from 'node:fs';
import path from 'node:path';

/** dist/ of this build (this file runs as dist/bench/soak/app.process.js). */
export const DIST = path.resolve(__dirname, '../..');

/** One app of an installation as a child process, its output kept in a log file. */
export class AppProcess {
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private running = false;
  /** The last stderr the process wrote before it exited (why it crashed). */
  stderrTail = '';
  readonly exited: Promise<number | null>;
  /** How the process ended (`1`, `SIGKILL`), once it has. */
  exitedWith: string | null = null;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    readonly logFile: string,
    env: NodeJS.ProcessEnv,
    cwd: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [path.join(DIST, script), ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.log.write(chunk);
      if (this.running) return;
      buffer = (buffer + chunk.toString()).slice(-4096);
      if (buffer.includes('is running')) this.running = true;
    });
    let tail = '';
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.log.write(chunk);
      tail = (tail + chunk.toString()).slice(-2000);
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exitedWith = String(code ?? signal);
        this.stderrTail = tail;
        this.log.end(`\n[soak] exited: ${code ?? signal}\n`);
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async ready(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.running) {
      if (!this.alive) throw new Error(`${this.name} exited before it was running (see its log)`);
      if (Date.now() > deadline) throw new Error(`${this.name} was not running after ${timeoutMs} ms (see its log)`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Sends `signal`; an app still alive 15 s after SIGTERM gets SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.alive) this.child.kill(signal);
    const timer = setTimeout(() => this.alive && this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
