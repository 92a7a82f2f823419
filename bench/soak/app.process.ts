import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, WriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
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
  /** Where it serves health and metrics (from its 'listening on port N' line). */
  private httpPort: number | null = null;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    readonly logFile: string,
    env: NodeJS.ProcessEnv,
    cwd: string,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    // SIGUSR2 writes a diagnostic report (JavaScript stack, handles) even from a busy loop: see diagnose().
    mkdirSync(this.reportDir, { recursive: true });
    const reportFlags = ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${this.reportDir}`];
    this.child = spawn(process.execPath, [...reportFlags, path.join(DIST, script), ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.log.write(chunk);
      if (this.running) return;
      buffer = (buffer + chunk.toString()).slice(-4096);
      this.httpPort ??= Number(/listening on port (\d+)/.exec(buffer)?.[1]) || null;
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

  private get reportDir(): string {
    return `${this.logFile}.reports`;
  }

  /**
   * For a soak that stalled: how much CPU the process burned over two seconds (a spinning event
   * loop shows ~100%, one waiting on the database ~0%) and the top of its JavaScript stack at
   * that moment, from a diagnostic report.
   */
  async diagnose(): Promise<string> {
    if (!this.alive) return `${this.name}: not running (${this.exitedWith})`;
    const cpuBefore = await cpuSeconds(this.pid);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const cpu = cpuBefore === null ? null : ((await cpuSeconds(this.pid)) ?? cpuBefore) - cpuBefore;
    this.child.kill('SIGUSR2');
    let stack = 'no report within 5 s (the process does not reach a JavaScript interrupt check)';
    for (let waited = 0; waited < 5_000; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const files = (await readdir(this.reportDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
      if (files.length === 0) continue;
      try {
        const report = JSON.parse(await readFile(path.join(this.reportDir, files[files.length - 1]), 'utf8')) as {
          javascriptStack?: { message?: string; stack?: string[] };
          libuv?: Array<{ type: string; is_active?: boolean }>;
        };
        const frames = (report.javascriptStack?.stack ?? []).slice(0, 6).map((f) => f.trim());
        const handles = (report.libuv ?? []).filter((h) => h.is_active).length;
        stack = `${report.javascriptStack?.message ?? ''} ${frames.join(' < ') || '(idle: no JavaScript running)'}; ${handles} active libuv handles`;
        break;
      } catch {
        // Still being written.
      }
    }
    return `${this.name} (pid ${this.pid}): ${cpu === null ? '?' : Math.round((cpu / 2) * 100)}% CPU over 2 s; ${stack}; ${await this.poolState()}`;
  }

  /** Its connection pool as /metrics reports it (all taken and requests waiting = a pool starved). */
  private async poolState(): Promise<string> {
    if (this.httpPort === null) return 'pool: port unknown';
    try {
      const response = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`, { signal: AbortSignal.timeout(3_000) });
      const lines = (await response.text()).split('\n').filter((line) => line.startsWith('infrabox_db_pool_clients'));
      return `pool: ${lines.map((line) => line.replace(/^infrabox_db_pool_clients\{state="(\w+)".*\} /, '$1=')).join(' ')}`;
    } catch (error) {
      return `pool: /metrics did not answer (${(error as Error).message})`;
    }
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

/** utime + stime of a process, in seconds (Linux /proc); null where /proc is not there. */
async function cpuSeconds(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
