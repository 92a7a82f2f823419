import { randomBytes, randomInt } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InstallConfig, parseInstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { RegistryModule } from '../../apps/registry/src/registry.module';
import { RegistryOptions } from '../../apps/registry/src/registry.options';
import { databaseUrl } from './database';

/** A cluster name no other test uses (all tests share one database). */
export function uniqueClusterName(prefix = 't'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * The token signing key file of cluster `name` in this test run: one per cluster name for the
 * whole run (the global setup makes the folder), so every test, app and CLI of the run that
 * signs as `name` uses the same key, as the key pinned in the run's database expects.
 */
export function testSigningKeyFile(name: string): string {
  const dir = process.env.INFRABOX_TEST_KEY_DIR;
  if (!dir) throw new Error('INFRABOX_TEST_KEY_DIR is not set: run the tests through jest (test/support/global-setup.mjs)');
  return path.join(dir, name, 'token-key.pem');
}

/** The `auth:` section of an install config of cluster `name` in tests (see {@link testSigningKeyFile}). */
export function authSection(name: string): string {
  return `auth:\n  signing_key: ${testSigningKeyFile(name)}\n`;
}

/** An install config for cluster `name` on the test database. */
export function clusterConfig(name: string, options: { labels?: string[]; projects?: string[]; apiUrl?: string; registryPort?: number } = {}): InstallConfig {
  const labels = (options.labels?.length ? `\n  labels: ${options.labels.join(',')}` : '') + (options.projects ? `\n  projects: [${options.projects.join(', ')}]` : '');
  const registry = options.registryPort === undefined ? '' : `registry:\n  port: ${options.registryPort}\n`;
  return parseInstallConfig(`host: ${options.apiUrl ?? 'http://127.0.0.1:1'}\ncluster:\n  name: ${name}${labels}\n${registry}${authSection(name)}`, {
    DATABASE_URL: databaseUrl(),
    // A registry-peer process of a cluster behind PgBouncer (test/database/pgbouncer).
    DATABASE_POOLER_URL: process.env.DATABASE_POOLER_URL,
  });
}

/** Registry timings where nothing happens on its own; a test turns on what it exercises. */
export function quietRegistryOptions(overrides: Partial<RegistryOptions> = {}): Partial<RegistryOptions> {
  return {
    heartbeatIntervalMs: 3_600_000,
    sweepIntervalMs: 3_600_000,
    probeIntervalMs: 3_600_000,
    // Its own sweep leadership per test, so registries left by other tests never lead this one.
    sweepLockKey: randomInt(1, 2 ** 47),
    ...overrides,
  };
}

/**
 * Registry timings of a test whose clusters must see each other come and go quickly: heartbeats
 * every 200 ms, lost after 3 s; no reachability probes unless asked for.
 */
export function liveRegistryOptions(overrides: Partial<RegistryOptions> = {}): Partial<RegistryOptions> {
  return quietRegistryOptions({ heartbeatIntervalMs: 200, heartbeatTimeoutMs: 3_000, sweepIntervalMs: 250, ...overrides });
}

export async function startRegistry(config: InstallConfig, options: Partial<RegistryOptions>): Promise<INestApplication> {
  const app = await NestFactory.create(RegistryModule.forConfig(config, options), { logger: ['error'], abortOnError: false });
  await app.init();
  return app;
}

export interface ClusterEventRow {
  type: string;
  payload: Record<string, unknown>;
}

/** Every `cluster.*` event about one cluster, oldest first. */
export async function clusterEvents(db: Database, cluster: string): Promise<ClusterEventRow[]> {
  return db.query<ClusterEventRow>(
    `SELECT type, payload FROM event WHERE type LIKE 'cluster.%' AND payload->>'cluster' = $1 ORDER BY id`,
    [cluster],
  );
}

export interface TestHttpServer {
  url: string;
  close(): Promise<void>;
}

/** A local HTTP server on 127.0.0.1 and a free port. */
export async function startHttpServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestHttpServer> {
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The URL of a port nothing listens on (it was free a moment ago). */
export async function closedPortUrl(): Promise<string> {
  const server = await startHttpServer(() => undefined);
  await server.close();
  return server.url;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
