import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pack } from 'tar-stream';
import type { BuildDto, JobDto } from '@infrabox/jobs';
import { Database } from '@infrabox/database';
import { liveRegistryOptions, uniqueClusterName } from '../support/clusters';
import { ChaosProxy } from '../support/chaos-proxy';
import { eventually, openDatabase } from '../support/database';
import { api, apiAs, freePort, RunningCluster, startCluster } from '../support/installation';
import { TestProcess } from '../support/processes';
import { sha256 } from '../support/storage';

/** Two clusters on local storage; the network between them is bent on purpose. */
describe('output transfers under faults', () => {
  const suffix = uniqueClusterName('');
  const names = { src: `src${suffix}`, dst: `dst${suffix}` };
  const registry = liveRegistryOptions();
  let db: Database;
  let src: RunningCluster;
  let dst: RunningCluster;

  beforeAll(async () => {
    db = openDatabase();
    [src, dst] = await Promise.all([
      // A peer that takes nothing of a push for 2 s is cut (and the push sent again).
      startCluster({ name: names.src, labels: ['SRC'], extraConfig: 'timeouts:\n  transfer_idle: 2\n' }, { registry, forwarder: true }),
      // A peer that sends nothing for 2 s is cut (and the transfer resumed).
      startCluster({ name: names.dst, labels: ['DST'], extraConfig: 'timeouts:\n  transfer_idle: 2\n' }, { registry, forwarder: true }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([src, dst].filter(Boolean).map((c) => c.stop()));
    await db.close();
  });

  afterEach(async () => {
    await db.query('DELETE FROM cluster_reachability WHERE from_cluster = ANY($1) OR to_cluster = ANY($1)', [Object.values(names)]);
    await db.query('UPDATE cluster SET api_url = $2 WHERE name = $1', [names.src, src.apiUrl]);
    await db.query('UPDATE cluster SET api_url = $2 WHERE name = $1', [names.dst, dst.apiUrl]);
  });

  const forwarderOf = (cluster: RunningCluster) => cluster.processes.find((p) => p.script.includes('output-forwarder'))!;

  const SUMS = 'cd "$DIR" && sha256sum big.bin small.txt';

  /** A producer on SRC writing `megabytes` of random data, and its consumer on DST. */
  async function createPair(megabytes: number): Promise<string> {
    const build = await apiAs<BuildDto>(src.adminToken, src.apiUrl, 'POST', '/api/v1/projects/faults/builds', {
      definition: {
        version: 1,
        jobs: [
          {
            name: 'producer', type: 'docker-image', image: 'none', cluster: { selector: ['SRC'] },
            command: ['sh', '-c', `set -e; O="$INFRABOX_OUTPUT"; head -c ${megabytes * 1048576} /dev/urandom > "$O/big.bin"; echo small > "$O/small.txt"; DIR="$O"; ${SUMS}`],
          },
          {
            name: 'consumer', type: 'docker-image', image: 'none', cluster: { selector: ['DST'] }, depends_on: ['producer'],
            command: ['sh', '-c', `set -e; DIR="$INFRABOX_INPUTS/producer"; ${SUMS}`],
          },
        ],
      },
    });
    expect(build.status).toBe(201);
    return build.body.id;
  }

  async function jobsOf(buildId: string): Promise<JobDto[]> {
    return (await api<BuildDto>(src.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.jobs!;
  }

  async function awaitPair(buildId: string): Promise<{ producer: JobDto; consumer: JobDto; produced: string; consumed: string }> {
    let jobs: JobDto[] = [];
    await eventually(async () => {
      jobs = await jobsOf(buildId);
      return jobs.every((j) => ['finished', 'failure', 'error', 'skipped', 'killed'].includes(j.state));
    }, 180_000, 'the build to end');
    const producer = jobs.find((j) => j.name === 'producer')!;
    const consumer = jobs.find((j) => j.name === 'consumer')!;
    const text = async (id: string) =>
      (await api<Array<{ text: string }>>(src.apiUrl, 'GET', `/api/v1/jobs/${id}/console`)).body.map((c) => c.text).join('');
    return { producer, consumer, produced: await text(producer.id), consumed: await text(consumer.id) };
  }

  const runPair = async (megabytes: number) => awaitPair(await createPair(megabytes));

  /** A proxy in front of `cluster`'s api (SRC's unless told), which the other cluster then reaches it through. */
  async function throughProxy(plan: ConstructorParameters<typeof ChaosProxy>[1], cluster: RunningCluster = src): Promise<ChaosProxy> {
    const url = new URL(cluster.apiUrl);
    const proxy = new ChaosProxy({ host: url.hostname, port: Number(url.port) }, plan);
    await db.query('UPDATE cluster SET api_url = $2 WHERE name = $1', [cluster.name, await proxy.start()]);
    return proxy;
  }

  it('resumes a transfer cut halfway and delivers it intact', async () => {
    const proxy = await throughProxy({ cutAfterBytes: 10 * 1048576, faultyConnections: 1 });
    try {
      const run = await runPair(20);
      expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
      expect(run.consumed).toBe(run.produced);
      expect(proxy.faultsInjected).toEqual(['cut connection 0 after 10485760 bytes']);
      expect(forwarderOf(dst).lines.join('\n')).toMatch(/cut at \d+ bytes .*; resuming/);
    } finally {
      await proxy.close();
    }
  }, 240_000);

  it('cuts a peer that stops sending mid-transfer after the idle timeout, and resumes where it stopped', async () => {
    const proxy = await throughProxy({ stallAfterBytes: 3 * 1048576, faultyConnections: 1 });
    try {
      const run = await runPair(8);
      expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
      expect(run.consumed).toBe(run.produced);
      expect(proxy.faultsInjected).toEqual(['stalled connection 0 after 3145728 bytes']);
      expect(forwarderOf(dst).lines.join('\n')).toMatch(new RegExp(`cut at \\d+ bytes \\(${names.src} sent nothing for 2 s\\); resuming`));
    } finally {
      await proxy.close();
    }
  }, 240_000);

  it('cuts a push the peer stops taking after the idle timeout, and resumes it from the bytes the peer holds', async () => {
    // Push only (DST cannot reach SRC), through a proxy in front of DST that stops reading the first upload.
    await db.query(
      `INSERT INTO cluster_reachability (from_cluster, to_cluster, reachable, rtt_ms, error) VALUES ($1, $2, true, 1, NULL), ($2, $1, false, NULL, 'firewall')`,
      [names.src, names.dst],
    );
    const proxy = await throughProxy({ stallRequestAfterBytes: 3 * 1048576, faultyConnections: 1 }, dst);
    try {
      const run = await runPair(20);
      expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
      expect(run.consumed).toBe(run.produced);
      expect(proxy.faultsInjected).toEqual(['stalled the request of connection 0 after 3145728 bytes']);
      const log = forwarderOf(src).lines.join('\n');
      expect(log).toContain(`${names.dst} took nothing and answered nothing for 2 s`);
      // Resumed, not sent again: the rest went from what DST held (the 3 MiB the proxy let through, less the request's head).
      const resumed = new RegExp(`job ${run.producer.id}'s output: push to ${names.dst} cut at (\\d+) of (\\d+) bytes .*; resuming`).exec(log);
      expect(resumed).not.toBeNull();
      expect(Number(resumed![1])).toBeGreaterThan(3 * 1048576 - 4096);
      expect(Number(resumed![1])).toBeLessThan(3 * 1048576);
      expect(log).not.toMatch(new RegExp(`push of job ${run.producer.id}'s output to ${names.dst} failed`));
      expect(log).toContain(`job ${run.producer.id}: pushed`);
    } finally {
      await proxy.close();
    }
  }, 240_000);

  it('detects bytes corrupted in transit by their sha256 and never hands them to the child', async () => {
    const proxy = await throughProxy({ corruptAtByte: 100_000, faultyConnections: 1 });
    try {
      const run = await runPair(5);
      expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
      expect(run.consumed).toBe(run.produced);
      expect(proxy.faultsInjected).toEqual(['corrupted byte 100000 of connection 0']);
      expect(forwarderOf(dst).lines.join('\n')).toMatch(/does not match the recorded/);
    } finally {
      await proxy.close();
    }
  }, 240_000);

  it.each([
    ['pull only: the child’s cluster reaches the parent’s, not the other way', 'dst', 'pulled'],
    ['push only: the parent’s cluster reaches the child’s, not the other way', 'src', 'pushed'],
  ])('%s', async (_name, mover, verb) => {
    const [open, closed] = mover === 'dst' ? [[names.dst, names.src], [names.src, names.dst]] : [[names.src, names.dst], [names.dst, names.src]];
    await db.query(
      `INSERT INTO cluster_reachability (from_cluster, to_cluster, reachable, rtt_ms, error) VALUES ($1, $2, true, 1, NULL), ($3, $4, false, NULL, 'firewall')`,
      [...open, ...closed],
    );
    const run = await runPair(3);
    expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
    expect(run.consumed).toBe(run.produced);
    const moverLog = forwarderOf(mover === 'dst' ? dst : src).lines.join('\n');
    const otherLog = forwarderOf(mover === 'dst' ? src : dst).lines.join('\n');
    expect(moverLog).toContain(`job ${run.producer.id}: ${verb}`);
    expect(otherLog).not.toContain(`job ${run.producer.id}: p`);
  }, 240_000);

  it('finishes the inputs when the forwarder is killed mid-transfer and restarted', async () => {
    const proxy = await throughProxy({ faultyConnections: 0 });
    const killed = forwarderOf(dst);
    let restarted: TestProcess | null = null;
    try {
      const running = runPair(150);
      // Kill the forwarder once the download has begun (the proxy sees its connection).
      await eventually(() => proxy.connectionCount > 0, 120_000, 'the download to start');
      killed.kill('SIGKILL');
      await killed.exited;
      restarted = new TestProcess('apps/output-forwarder/src/main.js', ['--config', dst.configFile], {}, path.dirname(dst.configFile));
      dst.processes[dst.processes.indexOf(killed)] = restarted;
      const run = await running;
      expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
      expect(run.consumed).toBe(run.produced);
      // The killed forwarder never completed it; the restarted one did.
      expect(killed.lines.join('\n')).not.toContain(`job ${run.producer.id}: pulled`);
      expect(restarted.lines.join('\n')).toContain(`job ${run.producer.id}: pulled`);
    } finally {
      await proxy.close();
    }
  }, 300_000);

  it('does not transfer again when the event that started a transfer is delivered again', async () => {
    const run = await runPair(2);
    expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
    const pulls = () => forwarderOf(dst).lines.filter((l) => l.includes(`job ${run.producer.id}: pulled`)).length;
    expect(pulls()).toBe(1);
    // The same job.finished once more, as an at-least-once delivery may bring it.
    await db.query(
      `INSERT INTO event (type, cluster, payload)
       SELECT type, cluster, payload FROM event WHERE type = 'job.finished' AND payload->>'jobId' = $1`,
      [run.producer.id],
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(pulls()).toBe(1);
    const copies = await db.query('SELECT cluster_name FROM job_output WHERE job_id = $1 ORDER BY cluster_name', [run.producer.id]);
    expect(copies).toEqual([{ cluster_name: names.dst }, { cluster_name: names.src }].sort((a, b) => a.cluster_name.localeCompare(b.cluster_name)));
  }, 120_000);

  it('shows a failing transfer on the waiting job, and delivers once the peer is back', async () => {
    // The producer's cluster API is unreachable (a closed port) until the test restores it.
    const closed = await freePort();
    await db.query('UPDATE cluster SET api_url = $2 WHERE name = $1', [names.src, `http://127.0.0.1:${closed}`]);
    const buildId = await createPair(1);
    let waiting: JobDto | undefined;
    await eventually(async () => {
      waiting = (await jobsOf(buildId)).find((j) => j.name === 'consumer');
      return waiting?.message?.includes('the transfer failed') ?? false;
    }, 60_000, 'the failure shown on the waiting job');
    expect(waiting!.state).toBe('queued');
    expect(waiting!.message).toMatch(new RegExp(`waiting for the output of job \\S+ from ${names.src}: the transfer failed`));
    await db.query('UPDATE cluster SET api_url = $2 WHERE name = $1', [names.src, src.apiUrl]);
    const run = await awaitPair(buildId);
    expect([run.producer.state, run.consumer.state]).toEqual(['finished', 'finished']);
    expect(run.consumer.message).toBeNull();
    expect(run.consumed).toBe(run.produced);
  }, 180_000);

  it("refuses a parent output whose tar entry would escape the child's inputs folder", async () => {
    // A parent whose recorded output (with its true sha256) holds '../escape'.
    const tar = await craftTar([{ name: 'ok.txt', data: 'fine' }, { name: '../escape', data: 'evil' }]);
    const build = await apiAs<BuildDto>(src.adminToken, src.apiUrl, 'POST', '/api/v1/projects/faults/builds', {
      definition: {
        version: 1,
        jobs: [
          { name: 'producer', type: 'docker-image', image: 'none', cluster: { selector: ['SRC'] }, command: ['sleep', '3'] },
          { name: 'consumer', type: 'docker-image', image: 'none', cluster: { selector: ['DST'] }, depends_on: ['producer'], command: ['true'] },
        ],
      },
    });
    const producer = build.body.jobs!.find((j) => j.name === 'producer')!;
    await eventually(async () => (await api<JobDto>(src.apiUrl, 'GET', `/api/v1/jobs/${producer.id}`)).body.state === 'running', 30_000, 'producer running');
    // Its output folder gets the crafted tar's content the only way the storage sees it: as the packed object.
    const key = `output/${producer.id}/output.tar`;
    const storageDir = path.join(path.dirname(src.configFile), 'storage', 'objects', path.dirname(key));
    await mkdir(storageDir, { recursive: true });
    await writeFile(path.join(storageDir, 'output.tar'), tar);
    await db.query(
      `INSERT INTO job_output (job_id, cluster_name, storage_key, size_bytes, sha256) VALUES ($1, $2, $3, $4, $5)`,
      [producer.id, names.src, key, tar.length, sha256(tar)],
    );
    let consumer: JobDto | undefined;
    await eventually(async () => {
      consumer = (await api<BuildDto>(src.apiUrl, 'GET', `/api/v1/builds/${build.body.id}`)).body.jobs!.find((j) => j.name === 'consumer');
      return ['finished', 'error', 'skipped'].includes(consumer!.state);
    }, 60_000, 'the consumer to end');
    expect(consumer!.state).toBe('error');
    expect(consumer!.message).toContain("'../escape'");
  }, 120_000);
});

async function craftTar(entries: Array<{ name: string; data: string }>): Promise<Buffer> {
  const archive = pack();
  for (const entry of entries) archive.entry({ name: entry.name }, entry.data);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
