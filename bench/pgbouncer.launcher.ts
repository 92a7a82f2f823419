import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { freePort } from './free-port';

/** Debian's `pgbouncer` package (scripts/ensure-test-tools.sh installs it). */
const PGBOUNCER = '/usr/sbin/pgbouncer';
/** PgBouncer refuses to run as root; it switches to this user (the package creates it). */
const UNPRIVILEGED_USER = 'postgres';

export interface RunningPgBouncer {
  /** The same database, login and password as the server's URL, through the pooler. */
  url: string;
  /** Reads of PgBouncer's own console (`SHOW POOLS`, `SHOW CLIENTS`…). */
  show(what: string): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Server connections per database and user (PgBouncer's `default_pool_size`). */
  poolSize?: number;
  /** The statement timeout it sets on each server connection (the apps cannot send it through it). */
  statementTimeoutMs?: number;
}

/**
 * A real PgBouncer in transaction mode in front of the server of `databaseUrl`, on a free port
 * of loopback: how the apps' pools reach PostgreSQL in a large installation (the Helm chart's
 * `pgbouncer.enabled`). It logs in to the server with the URL's login; its own clients are
 * trusted (loopback only). Stopped with `stop()`, its folder removed.
 */
export async function startPgBouncer(databaseUrl: string, options: PgBouncerOptions = {}): Promise<RunningPgBouncer> {
  const server = new URL(databaseUrl);
  const user = decodeURIComponent(server.username);
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-pgbouncer-'));
  const asRoot = process.getuid?.() === 0;
  const quoted = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const target = [
    `host=${server.hostname.replace(/^\[|\]$/g, '')}`,
    `port=${server.port || '5432'}`,
    `user=${user}`,
    ...(server.password ? [`password=${quoted(decodeURIComponent(server.password))}`] : []),
    `connect_query=${quoted(`SET statement_timeout = ${options.statementTimeoutMs ?? 60_000}`)}`,
  ].join(' ');
  await writeFile(path.join(dir, 'users.txt'), `"${user}" ""\n`);
  await writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = ${target}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${dir}/users.txt`,
      `admin_users = ${user}`,
      'pool_mode = transaction',
      'max_client_conn = 5000',
      `default_pool_size = ${options.poolSize ?? 20}`,
      // node-postgres sends none of these itself; a tool that does must not be refused.
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${dir}/pgbouncer.log`,
      '',
    ].join('\n'),
  );
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', UNPRIVILEGED_USER]).toString().trim());
    const gid = Number(execFileSync('id', ['-g', UNPRIVILEGED_USER]).toString().trim());
    await chmod(dir, 0o755);
    for (const file of ['', 'users.txt', 'pgbouncer.ini']) await chown(path.join(dir, file), uid, gid);
  }
  const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', UNPRIVILEGED_USER] : []), path.join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (stderr += `${error.message}\n`));

  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const admin = new URL(url);
  admin.pathname = '/pgbouncer';
  const show = async (what: string) => {
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      return (await client.query(`SHOW ${what}`)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await untilAccepting(child, url.toString(), 10_000);
  } catch (error) {
    const log = await readFile(path.join(dir, 'pgbouncer.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`PgBouncer did not start: ${(error as Error).message}\n${stderr}${log}`.trim());
  }
  return { url: url.toString(), show, stop };
}

async function untilAccepting(child: ChildProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
