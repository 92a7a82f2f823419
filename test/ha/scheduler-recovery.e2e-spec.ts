import { randomInt } from 'node:crypto';
import path from 'node:path';
import type { BuildDto } from '@infrabox/jobs';
import { Database } from '@infrabox/database';
import { uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { apiAs, RunningCluster, settledJobs, startCluster } from '../support/installation';
import { TestProcess } from '../support/processes';
import { RunsLog } from '../support/runs-log';

const LEASE_SECONDS = 2;
const GRACE_SECONDS = 3;

/**
 * Schedulers as separate processes on one cluster. Every job appends "<job id> <pid of the
 * scheduler that spawned it>" to a file outside the database, so double runs and the runner of
 * each job are seen without trusting the database.
 */
describe('scheduler replicas: a dead one is recovered, a stopped one hands over (separate processes)', () => {
  const name = uniqueClusterName('ha');
  const label = `only-${name}`;
  const runsLog = new RunsLog(`ha-${name}`);
  let cluster: RunningCluster;
  let db: Database;
  /** The scheduler left leading after the first test. */
  let leader: TestProcess;

  beforeAll(async () => {
    db = openDatabase(2);
    cluster = await startCluster(
      { name, labels: [label] },
      {
        registry: { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 30_000, sweepIntervalMs: 3_600_000, probeIntervalMs: 3_600_000, sweepLockKey: randomInt(1, 2 ** 47) },
        schedulers: 2,
        ha: { leaseSeconds: LEASE_SECONDS, shutdownGraceSeconds: GRACE_SECONDS },
      },
    );
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await db?.close();
    await runsLog.remove();
  });

  const schedulers = () => cluster.processes.filter((p) => p.script.includes('scheduler'));

  const job = (jobName: string, seconds: number) => ({
    name: jobName,
    type: 'docker-image',
    image: 'alpine',
    cluster: { selector: [label] },
    command: ['sh', '-c', `${runsLog.record}; sleep ${seconds}`],
  });

  async function push(jobs: unknown[]): Promise<BuildDto> {
    const response = await apiAs<BuildDto>(cluster.adminToken, cluster.apiUrl, 'POST', '/api/v1/projects/ha/builds', { definition: { version: 1, jobs } });
    expect(response.status).toBe(201);
    return response.body;
  }

  const runs = () => runsLog.runs();

  async function jobRows(buildId: string) {
    return db.query<{ id: string; name: string; state: string; message: string | null; runner_id: string | null; finished_at: Date }>(
      `SELECT id, name, state, message, runner_id, finished_at FROM job WHERE build_id = $1`,
      [buildId],
    );
  }

  const leadsLine = (p: TestProcess) => p.lines.findIndex((l) => l.includes(`now leads orphan recovery of cluster '${name}'`));

  it('SIGKILL of the leading scheduler mid-run: the other takes the lead within the lease, ends its running jobs in error naming it, runs the rest, nothing twice', async () => {
    const [first, second] = schedulers();
    await eventually(() => leadsLine(first) >= 0 || leadsLine(second) >= 0, 20_000, 'a recovery leader');
    const [victim, survivor] = leadsLine(first) >= 0 ? [first, second] : [second, first];
    expect(leadsLine(survivor)).toBe(-1);

    // 40 jobs, 16 slots per scheduler: each starts some, the rest wait (queued in the database).
    const build = await push(Array.from({ length: 40 }, (_, i) => job(`sleep-${i}`, 3)));
    await eventually(async () => [...(await runs()).values()].some((pids) => pids.includes(victim.pid)), 30_000, 'the victim to run jobs');
    const linesBefore = survivor.lines.length;
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    await victim.exited;

    // Take-over of the recovery lead, bounded by the lease.
    await eventually(() => survivor.lines.slice(linesBefore).some((l) => l.includes('now leads orphan recovery')), LEASE_SECONDS * 1000 + 2_000, 'the take-over');
    const takeOverMs = Date.now() - killedAt;
    process.stdout.write(`ha: recovery lead taken over ${takeOverMs} ms after SIGKILL (lease ${LEASE_SECONDS} s)\n`);
    expect(takeOverMs).toBeLessThan(LEASE_SECONDS * 1000);

    await settledJobs(cluster.apiUrl, build.id, 90_000);
    const rows = await jobRows(build.id);
    const ran = await runs();
    const victimRunner = (r: { runner_id: string | null }) => r.runner_id?.split('/')[1] === String(victim.pid);
    // A shell the victim spawned just before the kill may read $PPID after it: it then names its
    // new parent (init, or a subreaper), which is neither scheduler. Only the victim died, so such
    // a run is the victim's.
    const spawner = (pid: number) => ([victim.pid, survivor.pid].includes(pid) ? pid : victim.pid);

    // Nothing ran twice; every job that ran was spawned by the scheduler the database names.
    for (const [jobId, pids] of ran) expect({ jobId, pids }).toEqual({ jobId, pids: [pids[0]] });
    const lost = rows.filter((r) => r.state === 'error');
    expect(lost.length).toBeGreaterThan(0);
    for (const row of lost) {
      expect(victimRunner(row)).toBe(true);
      expect(row.message).toContain(`the scheduler running it was lost: runner ${row.runner_id} (pid ${victim.pid}`);
      // never re-run: at most the one run the victim started
      expect((ran.get(row.id) ?? [victim.pid]).map(spawner)).toEqual([victim.pid]);
    }
    // Everything else finished, and what finished after the kill ran on the survivor.
    for (const row of rows.filter((r) => r.state !== 'error')) {
      expect({ job: row.name, state: row.state }).toEqual({ job: row.name, state: 'finished' });
      expect(ran.get(row.id)).toHaveLength(1);
    }
    const rerunBySurvivor = rows.filter((r) => r.state === 'finished' && ran.get(r.id)![0] === survivor.pid);
    expect(rerunBySurvivor.length).toBeGreaterThan(0);
    const recoveredWithinMs = Math.max(...lost.map((r) => r.finished_at.getTime())) - killedAt;
    process.stdout.write(`ha: ${lost.length} running job(s) of the killed scheduler ended in error ${recoveredWithinMs} ms after SIGKILL\n`);
    // dead after one lease without heartbeat, found at the leader's next tick (a quarter lease)
    expect(recoveredWithinMs).toBeLessThan(LEASE_SECONDS * 1000 * 2);
    const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM scheduler_runner WHERE pid = $1 AND cluster_name = $2`, [victim.pid, name]);
    expect(n).toBe(0);
    leader = survivor;
  }, 150_000);

  it('SIGTERM: the scheduler takes nothing new, lets short jobs finish, stops long ones after the grace period in error, leaves, exits 0', async () => {
    const stopping = leader;
    const build = await push([...Array.from({ length: 3 }, (_, i) => job(`short-${i}`, 1.5)), ...Array.from({ length: 3 }, (_, i) => job(`long-${i}`, 60))]);
    await eventually(async () => {
      const ran = await runs();
      return (await jobRows(build.id)).every((r) => ran.has(r.id));
    }, 30_000, 'all six running');

    stopping.kill('SIGTERM');
    const stoppedAt = Date.now();
    await stopping.waitFor((lines) => lines.some((l) => l.includes('SIGTERM: shutting down')), 5_000, 'the stop to begin');
    // Pushed while it stops: it must not take this one; a scheduler started now does.
    const later = await push([job('after-stop', 0)]);
    const replacement = new TestProcess('apps/scheduler/src/main.js', ['--config', cluster.configFile], {}, path.dirname(cluster.configFile));
    cluster.processes.push(replacement);
    expect(await stopping.exited).toBe(0);
    const exitMs = Date.now() - stoppedAt;
    process.stdout.write(`ha: SIGTERM → exit 0 after ${exitMs} ms (grace ${GRACE_SECONDS} s)\n`);
    expect(exitMs).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000 - 200); // the long jobs held it for the grace period
    expect(exitMs).toBeLessThan(GRACE_SECONDS * 1000 + 8_000);

    const rows = new Map((await jobRows(build.id)).map((r) => [r.name, r]));
    for (let i = 0; i < 3; i++) {
      expect(rows.get(`short-${i}`)!.state).toBe('finished');
      expect(rows.get(`long-${i}`)).toMatchObject({ state: 'error', message: 'the scheduler shut down while the job ran' });
    }
    const after = await settledJobs(cluster.apiUrl, later.id, 30_000);
    expect(after.get('after-stop')!.state).toBe('finished');
    const ran = await runs();
    expect(ran.get(after.get('after-stop')!.id)).toEqual([replacement.pid]);
    for (const row of rows.values()) expect(ran.get(row.id)).toEqual([stopping.pid]);
    const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM scheduler_runner WHERE pid = $1 AND cluster_name = $2`, [stopping.pid, name]);
    expect(n).toBe(0); // it left: nobody will "recover" its jobs
    expect(stopping.lines.some((l) => l.includes('no longer leads orphan recovery'))).toBe(true);
    await eventually(() => leadsLine(replacement) >= 0, LEASE_SECONDS * 1000, 'the replacement to lead recovery');
  }, 150_000);
});
