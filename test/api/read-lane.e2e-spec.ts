import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { ClientRequest, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClusterRepository } from '@infrabox/clusters';
import { MASTER_CLUSTER } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { JobConsoleRepository, ProjectRepository } from '@infrabox/jobs';
import { STREAM_LIMITS } from '../../apps/api/src/events/event-stream.service';
import { craftTar } from '../support/archive';
import { masterAdminToken, tokenServiceFor } from '../support/auth';
import { authSection, uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';
import { freePort, PROCESS_EXECUTOR } from '../support/installation';
import { TestProcess } from '../support/processes';

const CONSOLE_CHUNKS = 200; // × 50 KiB: a 10 MB console
const UPLOADS = 15;

/**
 * One caller cannot starve the rest: with every event stream the api takes open (2,000 asked
 * from 40 addresses), readers paging through a 10 MB console and listing builds without pause,
 * an upload still takes about what it takes alone — reads run in the database's read lane, a
 * pool of their own, so the upload's queries never wait behind them — and the api stays ready.
 */
describe('api: reads cannot starve uploads (a real api process, real PostgreSQL)', () => {
  jest.setTimeout(180_000);
  let db: Database;
  let api: TestProcess;
  let baseUrl: string;
  let admin: string;
  let projectToken: string;
  const project = uniqueClusterName('lane');
  let jobId: string;
  let source: Buffer;

  beforeAll(async () => {
    db = openDatabase();
    const dir = await mkdtemp(path.join(tmpdir(), 'infrabox-read-lane-'));
    const name = uniqueClusterName('lane');
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const configFile = path.join(dir, 'config.yaml');
    await writeFile(configFile, `host: ${baseUrl}\ncluster:\n  name: ${name}\nstorage:\n  local:\n    enabled: true\n    path: ${dir}/storage\n${PROCESS_EXECUTOR}${authSection(name)}`);
    await new ClusterRepository(db).register({ name, labels: [], apiUrl: baseUrl });
    api = new TestProcess('apps/api/src/main.js', ['--config', configFile]);
    await api.waitFor((lines) => lines.some((l) => l.includes('is running')), 60_000, 'the api');
    admin = await masterAdminToken();
    const row = await new ProjectRepository(db).findOrCreate(project);
    projectToken = await tokenServiceFor(db, MASTER_CLUSTER).issueProjectToken(row.id, row.name, 3600);
    const created = await fetch(`${baseUrl}/api/v1/projects/${project}/builds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ definition: { version: 1, jobs: [{ type: 'wait', name: 'chatty' }] } }),
    });
    expect(created.status).toBe(201);
    jobId = ((await created.json()) as { jobs: Array<{ id: string }> }).jobs[0].id;
    const consoles = new JobConsoleRepository(db);
    for (let i = 0; i < CONSOLE_CHUNKS; i++) await consoles.append(jobId, `${String(i).padStart(6, '0')}:${'x'.repeat(50 * 1024 - 8)}\n`);
    source = await craftTar([{ name: 'blob.bin', content: randomBytes(512 * 1024).toString('base64') }]);
  }, 120_000);

  afterAll(async () => {
    api?.kill('SIGTERM');
    await api?.exited;
    await db?.close();
  });

  /** One source upload, timed in ms. */
  const upload = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${baseUrl}/api/v1/projects/${project}/source`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${projectToken}`, 'content-type': 'application/x-tar' },
      body: source,
    });
    expect(response.status).toBe(201);
    await response.arrayBuffer();
    return performance.now() - started;
  };

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

  /** The whole console, page by page, as `infrabox logs` reads it; its length in bytes. */
  const readConsole = async (): Promise<number> => {
    let after = 0;
    let bytes = 0;
    for (;;) {
      const page = (await (await fetch(`${baseUrl}/api/v1/jobs/${jobId}/console?after=${after}`, { headers: { authorization: `Bearer ${admin}` } })).json()) as Array<{ seq: number; text: string }>;
      if (page.length === 0) return bytes;
      bytes += page.reduce((sum, chunk) => sum + chunk.text.length, 0);
      after = page[page.length - 1].seq;
    }
  };

  /** Opens a stream from `localAddress`; resolves with its status once answered (a 200 is left open). */
  const openStream = (localAddress: string, opened: ClientRequest[]) =>
    new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${baseUrl}/api/v1/events/stream?after=now`, { localAddress, agent: false, headers: { authorization: `Bearer ${admin}` } }, (response) => {
        if (response.statusCode !== 200) response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end();
      opened.push(request);
    });

  it('with every stream the api takes open and the 10 MB console unreadable for 10 s, an upload is not queued behind the reads', async () => {
    await upload(); // warm up (the first request compiles and connects)
    const alone: number[] = [];
    for (let i = 0; i < UPLOADS; i++) alone.push(await upload());
    const opened: ClientRequest[] = [];
    const locker = await db.pool.connect();
    let locked = true;
    const readers: Array<Promise<number>> = [];
    try {
      const addresses = Array.from({ length: 40 }, (_, i) => `127.0.0.${i + 2}`);
      const statuses = await Promise.all(addresses.flatMap((address) => Array.from({ length: 2_000 / addresses.length }, () => openStream(address, opened))));
      expect(statuses.filter((s) => s === 200)).toHaveLength(STREAM_LIMITS.total);
      expect(statuses.filter((s) => s === 429)).toHaveLength(2_000 - STREAM_LIMITS.total);

      // Console reads that hang: every one holds a connection until the lock goes (10 s at most).
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE job_console IN ACCESS EXCLUSIVE MODE');
      const release = setTimeout(() => void locker.query('ROLLBACK').then(() => (locked = false)), 10_000);
      for (let i = 0; i < 8; i++) readers.push(readConsole());
      await new Promise((resolve) => setTimeout(resolve, 500));
      const blocked: number[] = [];
      for (let i = 0; i < 3; i++) blocked.push(await upload());
      const stillLocked = locked;
      expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
      const listed = await fetch(`${baseUrl}/api/v1/clusters`, { headers: { authorization: `Bearer ${admin}` }, signal: AbortSignal.timeout(20_000) });
      expect(listed.status).toBe(200);
      // The readers finish once the lock is gone: 10 MB each, none lost.
      expect(await Promise.all(readers)).toEqual(Array(8).fill(CONSOLE_CHUNKS * 50 * 1024));
      clearTimeout(release);
      process.stdout.write(
        `read lane: upload of ${(source.length / 1024).toFixed(0)} KiB: median ${median(alone).toFixed(0)} ms alone; ` +
          `${blocked.map((ms) => ms.toFixed(0)).join(', ')} ms with ${STREAM_LIMITS.total} streams open and 8 console reads hanging on a lock\n`,
      );
      // Done while the reads still hung (without a lane of their own, the uploads' queries waited for the lock to go).
      expect(stillLocked).toBe(true);
      expect(Math.max(...blocked)).toBeLessThan(5_000);
    } finally {
      if (locked) await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      for (const request of opened) request.destroy();
      await Promise.allSettled(readers);
    }
  });

  it('figures: an upload while 500 streams, 6 readers of the 10 MB console and 4 of the build list read without pause', async () => {
    const alone: number[] = [];
    for (let i = 0; i < UPLOADS; i++) alone.push(await upload());
    const opened: ClientRequest[] = [];
    let stop = false;
    const consoleReads: number[] = [];
    const listReads: number[] = [];
    const readers: Array<Promise<void>> = [];
    const loop = (read: () => Promise<void>, times: number[]) =>
      (async () => {
        while (!stop) {
          const started = performance.now();
          await read();
          times.push(performance.now() - started);
        }
      })();
    try {
      const addresses = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
      await Promise.all(addresses.flatMap((address) => Array.from({ length: STREAM_LIMITS.perClient }, () => openStream(address, opened))));
      for (let i = 0; i < 6; i++) readers.push(loop(async () => expect(await readConsole()).toBe(CONSOLE_CHUNKS * 50 * 1024), consoleReads));
      for (let i = 0; i < 4; i++) {
        readers.push(loop(async () => expect((await fetch(`${baseUrl}/api/v1/builds?limit=500`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(200), listReads));
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const loaded: number[] = [];
      for (let i = 0; i < UPLOADS; i++) loaded.push(await upload());
      stop = true;
      await Promise.all(readers);
      // The reads went on meanwhile.
      expect(consoleReads.length).toBeGreaterThan(0);
      expect(listReads.length).toBeGreaterThan(0);
      process.stdout.write(
        `read lane: upload median ${median(alone).toFixed(0)} ms alone, ${median(loaded).toFixed(0)} ms under busy reads (${(median(loaded) / median(alone)).toFixed(2)}×; ` +
          `the rest is the api's one CPU thread): ${consoleReads.length} whole reads of the 10 MB console (median ${median(consoleReads).toFixed(0)} ms), ${listReads.length} build lists\n`,
      );
    } finally {
      stop = true;
      for (const request of opened) request.destroy();
      await Promise.allSettled(readers);
    }
  });
});
