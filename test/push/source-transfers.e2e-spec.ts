import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { packDirectory } from '@infrabox/archive';
import { Database } from '@infrabox/database';
import type { BuildDto, JobDto } from '@infrabox/jobs';
import { projectToken, registeredCluster, tokenServiceFor } from '../support/auth';
import { ChaosProxy } from '../support/chaos-proxy';
import { liveRegistryOptions, uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { api, apiAs, RunningCluster, startCluster } from '../support/installation';
import { sha256 } from '../support/storage';

/**
 * A build's source between two clusters, each with its processes (api, registry, scheduler,
 * output-forwarder): uploaded to the holder, needed by a job on the target. The target pulls it
 * when it may reach the holder — through a proxy that cuts or corrupts it here — and the holder
 * pushes it when the target may not.
 */
describe('build sources: push when the target cannot pull, pull under faults', () => {
  const suffix = uniqueClusterName('');
  const names = { holder: `holder${suffix}`, target: `target${suffix}` };
  const labels = { holder: `H${suffix}`, target: `T${suffix}` };
  const project = `sources${suffix}`;
  const registry = liveRegistryOptions();
  let db: Database;
  let holder: RunningCluster;
  let target: RunningCluster;
  let token: string;
  let work: string;

  beforeAll(async () => {
    db = openDatabase(2);
    work = await mkdtemp(path.join(tmpdir(), 'infrabox-source-transfers-'));
    [holder, target] = await Promise.all([
      startCluster({ name: names.holder, labels: [labels.holder] }, { registry, forwarder: true }),
      startCluster({ name: names.target, labels: [labels.target] }, { registry, forwarder: true }),
    ]);
    await eventually(async () => {
      const all = (await api<Array<{ name: string; active: boolean }>>(holder.apiUrl, 'GET', '/api/v1/clusters')).body;
      const active = new Set(all.filter((c) => c.active).map((c) => c.name));
      return active.has(names.holder) && active.has(names.target);
    }, 30_000, 'both clusters registered and active');
    token = await projectToken(`${project}`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([holder, target].filter(Boolean).map((c) => c.stop()));
    await db?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  afterEach(async () => {
    await db.query('DELETE FROM cluster_reachability WHERE from_cluster = ANY($1) OR to_cluster = ANY($1)', [Object.values(names)]);
    await db.query('UPDATE cluster SET api_url = $2 WHERE name = $1', [names.holder, holder.apiUrl]);
  });

  const forwarderOf = (cluster: RunningCluster) => cluster.processes.find((p) => p.script.includes('output-forwarder'))!;

  /**
   * Uploads a folder with `megabytes` of random bytes to the holder and creates a build of it
   * whose one job, on `on`, prints the digest of those bytes as it finds them in its work dir.
   */
  async function buildWithSource(megabytes: number, on: string): Promise<{ buildId: string; digest: string; tar: Buffer }> {
    const dir = path.join(work, randomBytes(8).toString('hex'));
    await mkdir(dir, { recursive: true });
    const big = randomBytes(Math.round(megabytes * 1048576));
    await writeFile(path.join(dir, 'big.bin'), big);
    const packed = packDirectory(dir, {});
    const chunks: Buffer[] = [];
    for await (const chunk of packed.stream) chunks.push(chunk as Buffer);
    const tar = Buffer.concat(chunks);
    const uploaded = await fetch(`${holder.apiUrl}/api/v1/projects/${project}/source`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-tar', authorization: `Bearer ${token}` },
      body: Readable.toWeb(Readable.from([tar])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(uploaded.status).toBe(201);
    const { uploadId } = (await uploaded.json()) as { uploadId: string };
    const definition = {
      version: 1,
      jobs: [{ name: 'reader', type: 'docker-image', image: 'none', cluster: { selector: [on] }, command: ['sh', '-c', 'sha256sum big.bin'] }],
    };
    const build = await apiAs<BuildDto>(token, holder.apiUrl, 'POST', `/api/v1/projects/${project}/builds`, { definition, uploadId });
    expect(build.status).toBe(201);
    return { buildId: build.body.id, digest: sha256(big), tar };
  }

  async function settled(buildId: string): Promise<{ job: JobDto; console: string }> {
    let job: JobDto | undefined;
    await eventually(async () => {
      job = (await api<BuildDto>(holder.apiUrl, 'GET', `/api/v1/builds/${buildId}`)).body.jobs![0];
      return ['finished', 'failure', 'error', 'killed', 'skipped'].includes(job.state);
    }, 90_000, `build ${buildId} to end`);
    const chunks = (await api<Array<{ text: string }>>(holder.apiUrl, 'GET', `/api/v1/jobs/${job!.id}/console`)).body;
    return { job: job!, console: chunks.map((c) => c.text).join('') };
  }

  async function sourceRows(buildId: string): Promise<string[]> {
    const rows = await db.query<{ cluster_name: string }>('SELECT cluster_name FROM build_source WHERE build_id = $1 ORDER BY cluster_name', [buildId]);
    return rows.map((r) => r.cluster_name);
  }

  async function throughProxy(plan: ConstructorParameters<typeof ChaosProxy>[1]): Promise<ChaosProxy> {
    const url = new URL(holder.apiUrl);
    const proxy = new ChaosProxy({ host: url.hostname, port: Number(url.port) }, plan);
    await db.query('UPDATE cluster SET api_url = $2 WHERE name = $1', [names.holder, await proxy.start()]);
    return proxy;
  }

  it('push only: the target cannot reach the holder, the holder reaches it — the holder pushes and the job sees the source', async () => {
    await db.query(
      `INSERT INTO cluster_reachability (from_cluster, to_cluster, reachable, rtt_ms, error) VALUES ($1, $2, true, 1, NULL), ($2, $1, false, NULL, 'firewall')`,
      [names.holder, names.target],
    );
    const { buildId, digest } = await buildWithSource(2, labels.target);
    const { job, console } = await settled(buildId);
    expect(`${job.state} ${job.message ?? ''}`.trim()).toBe('finished');
    expect(job.cluster).toBe(names.target);
    expect(console).toBe(`${digest}  big.bin\n`);
    expect(await sourceRows(buildId)).toEqual([names.holder, names.target].sort());
    expect(forwarderOf(holder).lines.join('\n')).toContain(`build ${buildId}: pushed its source`);
    expect(forwarderOf(target).lines.join('\n')).not.toContain(`build ${buildId}: fetched`);
    const ready = await db.query<{ cluster: string }>(`SELECT cluster FROM event WHERE type = 'build.source.ready' AND payload->>'buildId' = $1`, [buildId]);
    expect(ready.map((e) => e.cluster)).toEqual([names.target]);
  }, 150_000);

  it('a source pull cut halfway resumes and completes', async () => {
    const proxy = await throughProxy({ cutAfterBytes: 2 * 1048576, faultyConnections: 1 });
    try {
      const { buildId, digest } = await buildWithSource(4, labels.target);
      const { job, console } = await settled(buildId);
      expect(`${job.state} ${job.message ?? ''}`.trim()).toBe('finished');
      expect(console).toBe(`${digest}  big.bin\n`);
      expect(proxy.faultsInjected).toEqual([`cut connection 0 after ${2 * 1048576} bytes`]);
      const log = forwarderOf(target).lines.join('\n');
      expect(log).toMatch(new RegExp(`build ${buildId}'s source: transfer from ${names.holder} cut at \\d+ bytes .*; resuming`));
      expect(log).toContain(`build ${buildId}: fetched its source`);
    } finally {
      await proxy.close();
    }
  }, 150_000);

  it('source bytes corrupted in transit are refused by their sha256 and fetched again', async () => {
    const proxy = await throughProxy({ corruptAtByte: 100_000, faultyConnections: 1 });
    try {
      const { buildId, digest } = await buildWithSource(1, labels.target);
      const { job, console } = await settled(buildId);
      expect(`${job.state} ${job.message ?? ''}`.trim()).toBe('finished');
      expect(console).toBe(`${digest}  big.bin\n`);
      expect(proxy.faultsInjected).toEqual(['corrupted byte 100000 of connection 0']);
      const log = forwarderOf(target).lines.join('\n');
      expect(log).toMatch(new RegExp(`fetch of build ${buildId}'s source failed \\(attempt 1/\\d+\\): sha256 .* does not match the recorded`));
      expect(log).toContain(`build ${buildId}: fetched its source`);
    } finally {
      await proxy.close();
    }
  }, 150_000);

  it('PUT /api/v1/peer/source/:id: 401 without a token, 403 with a project token, 422 for other bytes (nothing recorded), 201 twice for the right ones', async () => {
    // A build whose only job runs on the holder: the target has no reason to get its source but this push.
    const { buildId, tar } = await buildWithSource(0.25, labels.holder);
    await settled(buildId);
    const url = `${target.apiUrl}/api/v1/peer/source/${buildId}`;
    const put = async (body: Buffer, headers: Record<string, string>) => {
      const response = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/x-tar', ...headers }, body: new Uint8Array(body) });
      return { status: response.status, body: (await response.json()) as { message?: string; cluster?: string; size?: number; sha256?: string } };
    };
    const bearer = { authorization: `Bearer ${await tokenServiceFor(db, names.holder).issueClusterToken(names.target)}` };

    expect((await put(tar, {})).status).toBe(401);
    expect((await put(tar, { authorization: `Bearer ${token}` })).status).toBe(403);
    // No job of the build runs on the target: the holder may not fill the target's storage with it.
    expect(await put(tar, bearer)).toEqual({ status: 403, body: { statusCode: 403, message: `cluster '${names.target}' runs no job of build '${buildId}'` } });
    // Nor may a cluster that holds no copy push one.
    const stranger = await registeredCluster(db, uniqueClusterName('stranger'));
    const strangerBearer = { authorization: `Bearer ${await tokenServiceFor(db, stranger).issueClusterToken(names.target)}` };
    expect(await put(tar, strangerBearer)).toMatchObject({ status: 403, body: { message: `cluster '${stranger}' holds no copy of the source of build '${buildId}'` } });
    expect(await sourceRows(buildId)).toEqual([names.holder]);
    // A job of the build running on the target (a row: no scheduler takes it, no forwarder pulls for it).
    await db.query(
      `INSERT INTO job (build_id, name, type, definition, cluster_name, state, started_at)
       VALUES ($1, 'needs-the-source', 'wait', '{"type":"wait"}', $2, 'running', now())`,
      [buildId, names.target],
    );

    const corrupt = Buffer.from(tar);
    corrupt[1000] ^= 0xff;
    const refused = await put(corrupt, bearer);
    expect(refused.status).toBe(422);
    expect(refused.body.message).toContain('does not match the recorded');
    const short = await put(tar.subarray(0, tar.length - 512), bearer);
    expect(short.status).toBe(422);
    expect(await sourceRows(buildId)).toEqual([names.holder]);

    const first = await put(tar, bearer);
    expect(first).toEqual({ status: 201, body: { buildId, cluster: names.target, size: tar.length, sha256: sha256(tar) } });
    const again = await put(tar, bearer);
    expect(again).toEqual(first);
    expect(await sourceRows(buildId)).toEqual([names.holder, names.target].sort());
    const ready = await db.query<{ cluster: string }>(`SELECT cluster FROM event WHERE type = 'build.source.ready' AND payload->>'buildId' = $1`, [buildId]);
    expect(ready.map((e) => e.cluster)).toEqual([names.target]);
    // The target serves what it received to a peer that runs a job of the build.
    await db.query(
      `INSERT INTO job (build_id, name, type, definition, cluster_name, state, started_at)
       VALUES ($1, 'reads-it-back', 'wait', '{"type":"wait"}', $2, 'running', now())`,
      [buildId, names.holder],
    );
    const served = await fetch(url, { headers: { authorization: `Bearer ${await tokenServiceFor(db, names.holder).issueClusterToken(names.target)}` } });
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer()).equals(tar)).toBe(true);
  }, 120_000);
});
