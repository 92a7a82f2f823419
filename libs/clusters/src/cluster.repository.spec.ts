import { Database } from '@infrabox/database';
import { openDatabase } from '../../../test/support/database';
import { uniqueClusterName } from '../../../test/support/clusters';
import { ClusterReachabilityRepository } from './cluster-reachability.repository';
import { ClusterRepository } from './cluster.repository';

describe('ClusterRepository and ClusterReachabilityRepository (real PostgreSQL)', () => {
  let db: Database;
  let other: Database;
  let clusters: ClusterRepository;

  beforeAll(() => {
    db = openDatabase();
    other = openDatabase();
    clusters = new ClusterRepository(db);
  });
  afterAll(async () => {
    await db.close();
    await other.close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('register creates with the database default capacity, then updates and returns the row before', async () => {
    const name = uniqueClusterName('repo');
    const created = await clusters.register({ name, labels: ['a'], apiUrl: 'http://a:1' });
    expect(created.previous).toBeNull();
    expect(created.current).toMatchObject({ name, labels: ['a'], apiUrl: 'http://a:1', capacity: 10, active: true, enabled: true });

    const updated = await clusters.register({ name, labels: ['b'], apiUrl: 'http://b:1', capacity: 3 });
    expect(updated.previous).toMatchObject({ labels: ['a'], apiUrl: 'http://a:1', capacity: 10 });
    expect(updated.current).toMatchObject({ labels: ['b'], apiUrl: 'http://b:1', capacity: 3 });

    // Capacity left out: kept.
    expect((await clusters.register({ name, labels: ['b'], apiUrl: 'http://b:1' })).current.capacity).toBe(3);
  });

  it('register of one new cluster from two connections at once creates it exactly once', async () => {
    for (let round = 0; round < 5; round++) {
      const name = uniqueClusterName('repo');
      const cluster = { name, labels: [], apiUrl: 'http://a:1' };
      const results = await Promise.all([clusters.register(cluster), new ClusterRepository(other).register(cluster)]);
      expect(results.filter((result) => result.previous === null)).toHaveLength(1);
    }
  });

  it('markLost returns each stale cluster to exactly one of two concurrent callers; heartbeat and markActive', async () => {
    const names = Array.from({ length: 10 }, () => uniqueClusterName('repo'));
    for (const name of names) await clusters.register({ name, labels: [], apiUrl: 'http://a:1' });
    await sleep(150);
    const fresh = uniqueClusterName('repo');
    await clusters.register({ name: fresh, labels: [], apiUrl: 'http://a:1' });

    const [mine, theirs] = await Promise.all([clusters.markLost(100), new ClusterRepository(other).markLost(100)]);
    const reported = [...mine, ...theirs].map((cluster) => cluster.name).filter((name) => names.includes(name) || name === fresh);
    expect(reported.sort()).toEqual([...names].sort());
    const lost = [...mine, ...theirs].find((cluster) => cluster.name === names[0])!;
    expect(lost.active).toBe(false);
    expect(lost.heartbeatAgeSeconds).toBeGreaterThanOrEqual(0.1);

    expect(await clusters.heartbeat(names[0])).toBeNull();
    expect(await clusters.heartbeat(fresh)).toMatchObject({ name: fresh, active: true });
    const [first, second] = await Promise.all([clusters.markActive(names[0]), new ClusterRepository(other).markActive(names[0])]);
    expect([first, second].filter((row) => row !== null)).toHaveLength(1);
    expect(await clusters.heartbeat(names[0])).toMatchObject({ active: true });
    expect(await clusters.heartbeat(uniqueClusterName('unknown'))).toBeNull();
  });

  it('setEnabled tells whether it changed anything, and null for an unknown cluster', async () => {
    const name = uniqueClusterName('repo');
    await clusters.register({ name, labels: [], apiUrl: 'http://a:1' });
    expect(await clusters.setEnabled(name, true)).toMatchObject({ changed: false, cluster: { enabled: true } });
    expect(await clusters.setEnabled(name, false)).toMatchObject({ changed: true, cluster: { enabled: false } });
    expect(await clusters.setEnabled(name, false)).toMatchObject({ changed: false, cluster: { enabled: false } });
    expect(await clusters.setEnabled(uniqueClusterName('unknown'), false)).toBeNull();
  });

  it('reachability keeps the last probe per pair', async () => {
    const reachability = new ClusterReachabilityRepository(db);
    const [a, b] = [uniqueClusterName('repo'), uniqueClusterName('repo')];
    for (const name of [a, b]) await clusters.register({ name, labels: [], apiUrl: 'http://a:1' });

    await reachability.record({ from: a, to: b, reachable: true, rttMs: 1.5, error: null });
    await reachability.record({ from: a, to: b, reachable: false, rttMs: null, error: 'connect ECONNREFUSED' });
    expect(await reachability.find(a, b)).toMatchObject({ reachable: false, rttMs: null, error: 'connect ECONNREFUSED' });
    expect(await reachability.find(b, a)).toBeNull();
    const matrix = (await reachability.findAll()).filter((row) => row.from === a);
    expect(matrix).toHaveLength(1);
    await expect(reachability.record({ from: a, to: uniqueClusterName('unknown'), reachable: true, rttMs: 1, error: null })).rejects.toThrow(
      /foreign key/,
    );
  });
});
