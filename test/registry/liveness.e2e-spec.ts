import { INestApplication } from '@nestjs/common';
import { Cluster, ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { LivenessService } from '../../apps/registry/src/liveness/liveness.service';
import { RegistrationService } from '../../apps/registry/src/registration/registration.service';
import { RegistryOptions } from '../../apps/registry/src/registry.options';
import { clusterConfig, clusterEvents, quietRegistryOptions, sleep, startRegistry, uniqueClusterName } from '../support/clusters';
import { eventually, openDatabase } from '../support/database';
import { TestProcess } from '../support/processes';

describe('registry: liveness (real PostgreSQL)', () => {
  let db: Database;
  let clusters: ClusterRepository;
  const apps: INestApplication[] = [];
  const peers: TestProcess[] = [];

  beforeAll(() => {
    db = openDatabase();
    clusters = new ClusterRepository(db);
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.kill('SIGKILL');
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(() => db.close());

  const start = async (name: string, options: Partial<RegistryOptions>) => {
    const app = await startRegistry(clusterConfig(name), options);
    apps.push(app);
    return app;
  };
  const stop = async (app: INestApplication) => {
    apps.splice(apps.indexOf(app), 1);
    await app.close();
  };
  const types = async (name: string) => (await clusterEvents(db, name)).map((event) => event.type);
  const isActive = async (name: string) => (await clusters.findByName(name))!.active;
  /** A row whose heartbeat stops right away, as if its registry had died after registering. */
  const registerSilent = (name: string) => clusters.register({ name, labels: [], apiUrl: 'http://127.0.0.1:1' });

  it('reports a cluster whose heartbeat stopped as lost, once, and makes it inactive', async () => {
    const timing = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1_000, sweepIntervalMs: 100 };
    const options = quietRegistryOptions(timing);
    await start(uniqueClusterName('sweeper'), options);
    const workerName = uniqueClusterName('worker');
    const worker = await start(workerName, options);

    // Heartbeating every 100 ms, the worker outlives the 1 s timeout.
    await sleep(1_500);
    expect(await isActive(workerName)).toBe(true);
    expect(await types(workerName)).toEqual(['cluster.joined']);

    await stop(worker);
    await eventually(async () => !(await isActive(workerName)), 10_000, 'the worker to be marked inactive');
    await sleep(500); // more sweeps: none may report it again
    const events = await clusterEvents(db, workerName);
    expect(events.map((event) => event.type)).toEqual(['cluster.joined', 'cluster.lost']);
    const lastHeartbeatAt = (await clusters.findByName(workerName))!.lastHeartbeatAt.toISOString();
    expect(events[1].payload).toEqual({ cluster: workerName, lastHeartbeatAt });
  });

  it('a lost cluster that heartbeats again becomes active and joins again, once', async () => {
    const options = quietRegistryOptions({ heartbeatTimeoutMs: 300 });
    const name = uniqueClusterName('worker');
    const worker = await start(name, options); // its heartbeat timer is quiet: we drive it
    const sweeper = (await start(uniqueClusterName('sweeper'), options)).get(LivenessService);

    await sleep(400);
    expect((await sweeper.tick()).map((cluster) => cluster.name)).toContain(name);
    expect(await isActive(name)).toBe(false);

    const registration = worker.get(RegistrationService);
    await registration.heartbeat();
    expect(await clusters.findByName(name)).toMatchObject({ active: true });
    expect((await clusters.findByName(name))!.heartbeatAgeSeconds).toBeLessThan(0.3);
    await registration.heartbeat();
    expect(await types(name)).toEqual(['cluster.joined', 'cluster.lost', 'cluster.joined']);

    // Lost again, and this time it comes back by restarting: registration joins it too.
    await sleep(400);
    await sweeper.tick();
    await stop(worker);
    await start(name, options);
    expect(await types(name)).toEqual(['cluster.joined', 'cluster.lost', 'cluster.joined', 'cluster.lost', 'cluster.joined']);
  });

  it('a heartbeat of a cluster whose row was deleted registers it again', async () => {
    const name = uniqueClusterName('worker');
    const worker = await start(name, quietRegistryOptions());
    await db.query('DELETE FROM cluster WHERE name = $1', [name]);
    await worker.get(RegistrationService).heartbeat();
    expect(await clusters.findByName(name)).toMatchObject({ active: true });
    expect(await types(name)).toEqual(['cluster.joined', 'cluster.joined']);
  });

  it('two sweepers running at the same moment report each loss once', async () => {
    const options = quietRegistryOptions({ heartbeatTimeoutMs: 200 });
    const a = (await start(uniqueClusterName('sweeper'), options)).get(LivenessService);
    const b = (await start(uniqueClusterName('sweeper'), options)).get(LivenessService);
    const stale = Array.from({ length: 20 }, () => uniqueClusterName('stale'));
    for (const name of stale) await registerSilent(name);
    await sleep(300);

    // Sweep without the leader lock, both at once, several rounds: the UPDATE alone must decide.
    const reported: Cluster[] = [];
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all([a.sweep(), b.sweep(), a.sweep(), b.sweep()]);
      reported.push(...results.flat());
    }
    const ours = reported.map((cluster) => cluster.name).filter((name) => stale.includes(name));
    expect(ours.sort()).toEqual([...stale].sort());
    for (const name of stale) expect(await types(name)).toEqual(['cluster.lost']);
  });

  it('only the leader sweeps; when it dies another registry takes over at its next tick', async () => {
    const options = quietRegistryOptions({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1_000, sweepIntervalMs: 100 });
    const leader = new TestProcess('test/support/registry-peer.js', [
      JSON.stringify({ cluster: uniqueClusterName('leader'), options }),
    ]);
    peers.push(leader);
    await leader.waitFor((lines) => lines.includes('LEADS'), 20_000, 'the first registry to lead');
    const follower = (await start(uniqueClusterName('follower'), options)).get(LivenessService);

    await sleep(500); // several ticks of the follower
    expect(follower.isLeader).toBe(false);
    await registerSilent(uniqueClusterName('stale'));
    expect(await follower.tick()).toEqual([]);

    // The leader dies without a word: the server ends its session, which releases the lock.
    leader.kill('SIGKILL');
    await leader.exited;
    await eventually(() => follower.isLeader, 5_000, 'the follower to take the lead');
    const stale = uniqueClusterName('stale');
    await registerSilent(stale);
    await eventually(async () => !(await isActive(stale)), 10_000, 'the new leader to report a loss');
    expect(await types(stale)).toEqual(['cluster.lost']);
  });

  it('a leader whose session ends stops leading, and one registry leads again', async () => {
    const options = quietRegistryOptions({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1_000, sweepIntervalMs: 100 });
    const names = [uniqueClusterName('sweeper'), uniqueClusterName('sweeper')];
    const registries = [await start(names[0], options), await start(names[1], options)];
    const liveness = registries.map((app) => app.get(LivenessService));
    const leaders = () => liveness.filter((l) => l.isLeader).length;
    await eventually(() => leaders() === 1, 5_000, 'exactly one leader');
    const first = liveness.findIndex((l) => l.isLeader);

    const [terminated] = await db.query<{ done: boolean }>(
      'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1',
      [`infrabox registry@${names[first]} liveness leader`],
    );
    expect(terminated).toEqual({ done: true });
    await eventually(() => !liveness[first].isLeader, 5_000, 'the old leader to notice');
    await eventually(() => leaders() === 1, 5_000, 'a leader again');
    await sleep(500);
    expect(leaders()).toBe(1);

    // A clean stop hands over too.
    const current = liveness.findIndex((l) => l.isLeader);
    await stop(registries[current]);
    await eventually(() => liveness[1 - current].isLeader, 5_000, 'the remaining registry to lead');
  });
});
