import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BuildDto } from '@infrabox/jobs';
import { Database, lockKeyOf } from '@infrabox/database';
import { uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { masterAdminToken } from '../support/auth';
import { apiAs } from '../support/installation';
import { TestProcess } from '../support/processes';
import { RunsLog } from '../support/runs-log';
import { ReplicatedCluster, startReplicatedCluster } from '../support/replicated-cluster';

const LEASE_SECONDS = 2;
const GRACE_SECONDS = 3;
const PEER_OUTPUT = /^\/api\/v1\/peer\/output\/([0-9a-f-]{36})/;
const BIG_OUTPUT_BYTES = 16 * 1024 * 1024;
const SLOW = 2 * 1024 * 1024; // bytes per second: BIG_OUTPUT_BYTES in about 8 s, well past the grace period

/**
 * The most bytes the kernel can hold between an api replica and the proxy: the api's send buffer
 * and the proxy's receive buffer, each at most its autotuning limit. The proxy's throttle is
 * behind them, so an api can have written that much more than the proxy passed on, and those
 * bytes still arrive after the api has exited.
 */
async function socketBuffersMax(): Promise<number> {
  const max = async (name: string) => Number((await readFile(`/proc/sys/net/ipv4/${name}`, 'utf8')).trim().split(/\s+/)[2]);
  return (await max('tcp_rmem')) + (await max('tcp_wmem'));
}

/**
 * Two clusters, each with two replicas of every app (api, registry, scheduler, output-forwarder)
 * as separate processes, the apis behind a counting proxy that is the cluster's `host`.
 * Executions are counted outside the database (each job appends "<job id> <scheduler pid>" to a
 * file), transfers outside the forwarders (the peer GETs each proxy passed).
 */
describe('HA: two clusters with two replicas of every app (separate processes)', () => {
  const suffix = uniqueClusterName('');
  const names = { a: `ha-a${suffix}`, b: `ha-b${suffix}` };
  const runsLog = new RunsLog(`ha-replicas-${suffix}`);
  let a: ReplicatedCluster;
  let b: ReplicatedCluster;
  let db: Database;

  beforeAll(async () => {
    db = openDatabase(2);
    const ha = { leaseSeconds: LEASE_SECONDS, shutdownGraceSeconds: GRACE_SECONDS };
    [a, b] = await Promise.all([
      startReplicatedCluster({ name: names.a, labels: [names.a] }, { replicas: 2, ha }),
      startReplicatedCluster({ name: names.b, labels: [names.b] }, { replicas: 2, ha }),
    ]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map((c) => c.stop()));
    await db?.close();
    await runsLog.remove();
  });

  const record = runsLog.record;
  const on = (cluster: string) => ({ cluster: { selector: [cluster] } });
  const other = (cluster: string) => (cluster === names.a ? names.b : names.a);

  let adminToken: Promise<string> | undefined;
  async function push(apiUrl: string, jobs: unknown[]): Promise<BuildDto> {
    adminToken ??= masterAdminToken();
    const response = await apiAs<BuildDto>(await adminToken, apiUrl, 'POST', '/api/v1/projects/ha/builds', { definition: { version: 1, jobs } });
    expect(response.status).toBe(201);
    return response.body;
  }

  const runs = () => runsLog.runs();

  type JobRow = { id: string; name: string; build_id: string; state: string; message: string | null; cluster_name: string; runner_id: string | null };

  async function settled(buildIds: string[], timeoutMs: number): Promise<JobRow[]> {
    let rows: JobRow[] = [];
    await eventually(async () => {
      rows = await db.query<JobRow>(
        `SELECT id, name, build_id, state, message, cluster_name, runner_id FROM job WHERE build_id = ANY($1::uuid[])`,
        [buildIds],
      );
      return rows.every((r) => !['queued', 'scheduled', 'running'].includes(r.state));
    }, timeoutMs, 'the builds to end');
    return rows;
  }

  /** Peer output transfers each proxy passed, by job id. */
  function peerGets(cluster: ReplicatedCluster): Map<string, number> {
    const counts = new Map<string, number>();
    for (const request of cluster.proxy.matching('GET', PEER_OUTPUT)) {
      const jobId = PEER_OUTPUT.exec(request.path)![1];
      counts.set(jobId, (counts.get(jobId) ?? 0) + 1);
    }
    return counts;
  }

  it('1,000 jobs (chains and fan-outs, outputs crossing clusters): none run twice, no output moved twice, every job finished', async () => {
    // 100 groups of 10: a root writing a small output, 8 children (every other one on the other
    // cluster, reading the root's output), and a join depending on the 8.
    const group = (g: number) => {
      const home = g % 2 === 0 ? names.a : names.b;
      const root = `root-${g}`;
      const children = Array.from({ length: 8 }, (_, i) => ({
        name: `child-${g}-${i}`,
        type: 'docker-image',
        image: 'alpine',
        depends_on: [root],
        ...on(i % 2 === 0 ? home : other(home)),
        command: ['sh', '-c', `${record}; test "$(cat "$INFRABOX_INPUTS/${root}/out.txt")" = "${root}"`],
      }));
      return [
        { name: root, type: 'docker-image', image: 'alpine', ...on(home), command: ['sh', '-c', `${record}; echo ${root} > "$INFRABOX_OUTPUT/out.txt"`] },
        ...children,
        { name: `join-${g}`, type: 'docker-image', image: 'alpine', depends_on: children.map((c) => c.name), ...on(other(home)), command: ['sh', '-c', record] },
      ];
    };
    const started = Date.now();
    const builds = await Promise.all(
      Array.from({ length: 4 }, (_, k) => push(k % 2 ? b.apiUrl : a.apiUrl, Array.from({ length: 25 }, (_, g) => group(k * 25 + g)).flat())),
    );
    const rows = await settled(builds.map((x) => x.id), 240_000);
    const seconds = (Date.now() - started) / 1000;

    expect(rows).toHaveLength(1_000);
    const notFinished = rows.filter((r) => r.state !== 'finished');
    expect(notFinished.map((r) => `${r.name}: ${r.state} ${r.message ?? ''}`)).toEqual([]);

    // Executions, counted outside the database: each job once.
    const ran = await runs();
    const twice = [...ran].filter(([, pids]) => pids.length > 1);
    expect(twice).toEqual([]);
    expect(rows.filter((r) => ran.get(r.id)?.length !== 1)).toEqual([]);
    // Both scheduler replicas of each cluster ran jobs.
    for (const cluster of [a, b]) {
      const perReplica = cluster.replicas.scheduler.map((p) => [...ran.values()].filter((pids) => pids[0] === p.pid).length);
      process.stdout.write(`ha: ${cluster.name} scheduler replicas ran ${perReplica.join(' + ')} jobs\n`);
      for (const count of perReplica) expect(count).toBeGreaterThan(0);
    }

    // Transfers, counted at the proxies: each root's output crossed once, nothing else moved.
    const roots = rows.filter((r) => r.name.startsWith('root-'));
    const gets = new Map([...peerGets(a), ...peerGets(b)]);
    expect([...gets.keys()].sort()).toEqual(roots.map((r) => r.id).sort());
    expect([...gets].filter(([, n]) => n !== 1)).toEqual([]);
    for (const root of roots) expect(peerGets(root.cluster_name === names.a ? a : b).get(root.id)).toBe(1); // served by its own cluster
    expect([...a.proxy.matching('PUT', PEER_OUTPUT), ...b.proxy.matching('PUT', PEER_OUTPUT)]).toEqual([]);
    const pulledBy = (p: TestProcess) => p.lines.filter((l) => / pulled /.test(l)).length;
    process.stdout.write(
      `ha: 1,000 jobs in ${seconds.toFixed(1)} s; ${gets.size} outputs moved once each ` +
        `(forwarder replicas: ${a.name} ${a.replicas['output-forwarder'].map(pulledBy).join(' + ')}, ${b.name} ${b.replicas['output-forwarder'].map(pulledBy).join(' + ')})\n`,
    );
  }, 300_000);

  it('SIGKILL of a leading replica (orphan recovery, reachability probes): another replica leads within the lease', async () => {
    const leadsIn = (p: TestProcess, duty: string, from = 0) => p.lines.slice(from).some((l) => l.includes(`now leads ${duty}`));
    for (const [app, duty, boundMs] of [
      ['scheduler', `orphan recovery of cluster '${names.a}'`, LEASE_SECONDS * 1000],
      ['registry', `reachability probes of cluster '${names.b}'`, LEASE_SECONDS * 1000],
    ] as const) {
      const replicas = (app === 'scheduler' ? a : b).replicas[app];
      await eventually(() => replicas.some((p) => leadsIn(p, duty)), 20_000, `a leader of ${duty}`);
      const leader = replicas.find((p) => leadsIn(p, duty))!;
      const follower = replicas.find((p) => p !== leader)!;
      expect(leadsIn(follower, duty)).toBe(false);
      const from = follower.lines.length;
      leader.kill('SIGKILL');
      const killedAt = Date.now();
      await eventually(() => leadsIn(follower, duty, from), boundMs + 5_000, `the take-over of ${duty}`);
      const takeOverMs = Date.now() - killedAt;
      process.stdout.write(`ha: ${duty} taken over ${takeOverMs} ms after SIGKILL of its leader (bound ${boundMs} ms)\n`);
      expect(takeOverMs).toBeLessThan(boundMs);
      // Two replicas again for the next tests.
      replicas.splice(replicas.indexOf(leader), 1);
      await (app === 'scheduler' ? a : b).addReplica(app);
    }
  }, 120_000);

  it("SIGKILL of a scheduler replica running jobs: its running jobs end in error naming it, the rest run on the other replica, none twice", async () => {
    const [victim, survivor] = b.replicas.scheduler;
    const build = await push(b.apiUrl, Array.from({ length: 30 }, (_, i) => ({ name: `sleep-${i}`, type: 'docker-image', image: 'alpine', ...on(names.b), command: ['sh', '-c', `${record}; sleep 2`] })));
    const ids = (await db.query<{ id: string }>(`SELECT id FROM job WHERE build_id = $1`, [build.id])).map((r) => r.id);
    await eventually(async () => {
      const ran = await runs();
      return ids.some((id) => ran.get(id)?.includes(victim.pid));
    }, 30_000, 'the victim to run jobs of this build');
    victim.kill('SIGKILL');
    const rows = await settled([build.id], 60_000);
    const ran = await runs();
    const show = (r: JobRow) => `${r.name}: ${r.state} (${r.message ?? ''}) runner ${r.runner_id} ran by ${JSON.stringify(ran.get(r.id) ?? [])}`;
    const lost = rows.filter((r) => r.state === 'error');
    expect(lost.length).toBeGreaterThan(0);
    // Each lost job: held by the victim, named in its message, run at most once and only by the victim.
    // A shell the victim spawned just before the kill may read $PPID after it: it then names its
    // new parent (init, or a subreaper), which is neither replica. Only the victim died, so such a
    // run is the victim's.
    const spawner = (pid: number) => ([victim.pid, survivor.pid].includes(pid) ? pid : victim.pid);
    const lostWrongly = lost.filter(
      (r) =>
        !r.message?.includes(`the scheduler running it was lost: runner ${r.runner_id} (pid ${victim.pid}`) ||
        JSON.stringify((ran.get(r.id) ?? [victim.pid]).map(spawner)) !== JSON.stringify([victim.pid]),
    );
    expect(lostWrongly.map(show)).toEqual([]);
    // Everything else finished, run exactly once, the ones after the kill by the survivor.
    const finished = rows.filter((r) => r.state === 'finished');
    expect(rows.filter((r) => r.state !== 'finished' && r.state !== 'error').map(show)).toEqual([]);
    expect(finished.filter((r) => ran.get(r.id)?.length !== 1).map(show)).toEqual([]);
    expect(finished.filter((r) => ran.get(r.id)![0] === survivor.pid).length).toBeGreaterThan(0);
    process.stdout.write(`ha: scheduler ${victim.pid} killed: ${lost.length} running job(s) ended in error, ${finished.length} finished, none twice\n`);
    b.replicas.scheduler.splice(0, 1);
    await b.addReplica('scheduler');
  }, 120_000);

  it('SIGTERM of the forwarder replica moving an output: it abandons the transfer after the grace period and exits 0; the other replica moves it again; nothing partial is seen', async () => {
    // 16 MiB of known bytes from a job on a, read by a child on b; the proxy of a slows this
    // one download so that it is in flight when its forwarder is stopped. The throttle is set
    // before the push (it matches every output download from a; this is the only one): the
    // download can start before the push has answered, and an unthrottled one is over before
    // the test could look for its claim.
    const line = 'infrabox\n';
    const content = line.repeat(Math.ceil(BIG_OUTPUT_BYTES / line.length)).slice(0, BIG_OUTPUT_BYTES);
    const sha256 = createHash('sha256').update(content).digest('hex');
    a.proxy.throttle = { path: PEER_OUTPUT, bytesPerSecond: SLOW };
    const build = await push(a.apiUrl, [
      { name: 'big', type: 'docker-image', image: 'alpine', ...on(names.a), command: ['sh', '-c', `sleep 1; yes infrabox | head -c ${BIG_OUTPUT_BYTES} > "$INFRABOX_OUTPUT/big.bin"`] },
      {
        name: 'reader',
        type: 'docker-image',
        image: 'alpine',
        depends_on: ['big'],
        ...on(names.b),
        command: ['sh', '-c', `sha256sum "$INFRABOX_INPUTS/big/big.bin" | grep -q ${sha256}`],
      },
    ]);
    const [big] = await db.query<{ id: string }>(`SELECT id FROM job WHERE build_id = $1 AND name = 'big'`, [build.id]);
    const downloads = () => a.proxy.matching('GET', new RegExp(`/peer/output/${big.id}`));
    await eventually(() => downloads().length === 1 && downloads()[0].backend !== undefined, 30_000, 'the download to start');
    a.proxy.throttle = null; // it slows the responses that started while it was set: this one, not the redo

    // The replica holding this transfer's claim (its pid is in its claims session's name). The
    // claim's own key is looked up: another transfer (a retry left from an earlier test) may hold
    // a claim of its own meanwhile.
    const claimKey = lockKeyOf('transfer', `output:${big.id}->${names.b}`);
    const claimHolders = async () =>
      (
        await db.query<{ application_name: string }>(
          `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.classid::text::bigint = $1 AND l.objid::text::bigint = $2 AND a.application_name LIKE $3`,
          [String(claimKey >> 32n), String(claimKey & 0xffffffffn), 'infrabox[%] forwarder@%'],
        )
      )
        .map((r) => Number(/^infrabox\[(\d+)\]/.exec(r.application_name)![1]))
        .filter((pid) => b.replicas['output-forwarder'].some((p) => p.pid === pid));
    await eventually(async () => (await claimHolders()).length === 1, 5_000, 'the claim');
    const [holderPid] = await claimHolders();
    const holder = b.replicas['output-forwarder'].find((p) => p.pid === holderPid)!;
    const otherForwarder = b.replicas['output-forwarder'].find((p) => p !== holder)!;
    expect(holder).toBeDefined();

    holder.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect(await holder.exited).toBe(0);
    const exitMs = Date.now() - stoppedAt;
    process.stdout.write(`ha: forwarder SIGTERM mid-transfer → exit 0 after ${exitMs} ms (grace ${GRACE_SECONDS} s)\n`);
    expect(exitMs).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 200);
    expect(holder.lines.some((l) => l.includes('abandoning 1 transfer(s) after the grace period'))).toBe(true);
    // Nothing of the abandoned copy is visible: no copy recorded on b, the reader still waits.
    expect(await db.query(`SELECT 1 FROM job_output WHERE job_id = $1 AND cluster_name = $2`, [big.id, names.b])).toEqual([]);
    const [reader] = await db.query<{ state: string }>(`SELECT state FROM job WHERE build_id = $1 AND name = 'reader'`, [build.id]);
    expect(reader.state).toBe('queued');

    const rows = await settled([build.id], 60_000);
    expect(rows.map((r) => [r.name, r.state]).sort()).toEqual([['big', 'finished'], ['reader', 'finished']]);
    const [first, second] = downloads();
    expect(downloads()).toHaveLength(2);
    expect(first).toMatchObject({ status: 200, complete: false, throttled: true });
    expect(second).toMatchObject({ status: 200, complete: true, throttled: false });
    expect(otherForwarder.lines.some((l) => l.includes(`job ${big.id}: pulled`))).toBe(true);
    expect(holder.lines.some((l) => l.includes(`job ${big.id}: pulled`))).toBe(false);
  }, 120_000);

  it('SIGTERM of the api replica serving a download: requests in flight get the grace period, then are cut; the peer resumes through the other replica; exit 0', async () => {
    // Big enough that the api is still writing it when the grace period ends: the kernel's
    // socket buffers (which the throttle at the proxy cannot hold back, and which still deliver
    // after the api has exited) plus 8 s of the throttled rate. With 16 MiB alone the buffers
    // took all the rest of it and the first download came out complete.
    const size = (await socketBuffersMax()) + BIG_OUTPUT_BYTES;
    const line = 'infrabox\n';
    const content = line.repeat(Math.ceil(size / line.length)).slice(0, size);
    const sha256 = createHash('sha256').update(content).digest('hex');
    a.proxy.throttle = { path: PEER_OUTPUT, bytesPerSecond: SLOW }; // before the push, as above
    const build = await push(a.apiUrl, [
      { name: 'big', type: 'docker-image', image: 'alpine', ...on(names.a), command: ['sh', '-c', `sleep 1; yes infrabox | head -c ${size} > "$INFRABOX_OUTPUT/big.bin"`] },
      { name: 'reader', type: 'docker-image', image: 'alpine', depends_on: ['big'], ...on(names.b), command: ['sh', '-c', `sha256sum "$INFRABOX_INPUTS/big/big.bin" | grep -q ${sha256}`] },
    ]);
    const [big] = await db.query<{ id: string }>(`SELECT id FROM job WHERE build_id = $1 AND name = 'big'`, [build.id]);
    const route = new RegExp(`/peer/output/${big.id}`);
    await eventually(() => a.proxy.matching('GET', route).some((r) => r.backend !== undefined), 30_000, 'the download to start');
    a.proxy.throttle = null; // this one stays slow; the resume runs at full speed
    const [first] = a.proxy.matching('GET', route);
    const [portOne] = a.proxy.backends;
    const serving = a.replicas.api[first.backend === portOne ? 0 : 1];

    serving.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect(await serving.exited).toBe(0);
    const exitMs = Date.now() - stoppedAt;
    process.stdout.write(`ha: api SIGTERM while serving a download → exit 0 after ${exitMs} ms (grace ${GRACE_SECONDS} s)\n`);
    expect(exitMs).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 200);

    const rows = await settled([build.id], 60_000);
    expect(rows.map((r) => [r.name, r.state]).sort()).toEqual([['big', 'finished'], ['reader', 'finished']]);
    const downloads = a.proxy.matching('GET', route);
    expect(downloads[0]).toMatchObject({ status: 200, complete: false, throttled: true });
    // the rest of it, from the replica still up
    expect(downloads.slice(1)).toEqual([expect.objectContaining({ status: 206, complete: true, range: expect.stringMatching(/^bytes=[1-9]\d*-$/) })]);
    expect(downloads[1].backend).not.toBe(first.backend);
  }, 120_000);
});
