import { INestApplication } from '@nestjs/common';
import { ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { clusterConfig, clusterEvents, quietRegistryOptions, startRegistry, uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

describe('registry: self-registration (real PostgreSQL)', () => {
  let db: Database;
  let clusters: ClusterRepository;
  const apps: INestApplication[] = [];

  beforeAll(() => {
    db = openDatabase();
    clusters = new ClusterRepository(db);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });
  afterAll(() => db.close());

  /** Starts a registry for one config and stops it again: one registration. */
  const registerOnce = async (...args: Parameters<typeof clusterConfig>) => {
    const app = await startRegistry(clusterConfig(...args), quietRegistryOptions());
    await app.close();
  };

  it('creates the row from the config and emits cluster.joined once, not again on restart', async () => {
    const name = uniqueClusterName('reg');
    await registerOnce(name, { labels: ['gpu', 'eu'], apiUrl: 'http://10.0.0.1:8080' });

    const row = await clusters.findByName(name);
    expect(row).toMatchObject({
      name,
      labels: ['gpu', 'eu'],
      apiUrl: 'http://10.0.0.1:8080',
      enabled: true,
      active: true,
      capacity: 10,
    });
    expect(row!.heartbeatAgeSeconds).toBeLessThan(5);

    await registerOnce(name, { labels: ['gpu', 'eu'], apiUrl: 'http://10.0.0.1:8080' });
    // Labels are a set: another order in the config is no change.
    await registerOnce(name, { labels: ['eu', 'gpu'], apiUrl: 'http://10.0.0.1:8080' });

    expect(await clusterEvents(db, name)).toEqual([
      { type: 'cluster.joined', payload: { cluster: name, labels: ['gpu', 'eu'], apiUrl: 'http://10.0.0.1:8080' } },
    ]);
  });

  it('emits cluster.updated with only what changed, and keeps an admin’s enabled flag', async () => {
    const name = uniqueClusterName('reg');
    await registerOnce(name, { labels: ['gpu'], apiUrl: 'http://10.0.0.1:8080' });
    await clusters.setEnabled(name, false);

    await registerOnce(name, { labels: ['gpu', 'arm'], apiUrl: 'http://10.0.0.1:8080' });
    await registerOnce(name, { labels: ['gpu', 'arm'], apiUrl: 'http://10.0.0.2:8080' });
    await registerOnce(name, { labels: [], apiUrl: 'http://10.0.0.3:8080' });

    expect((await clusterEvents(db, name)).map((event) => [event.type, event.payload])).toEqual([
      ['cluster.joined', { cluster: name, labels: ['gpu'], apiUrl: 'http://10.0.0.1:8080' }],
      ['cluster.updated', { cluster: name, labels: ['gpu', 'arm'] }],
      ['cluster.updated', { cluster: name, apiUrl: 'http://10.0.0.2:8080' }],
      ['cluster.updated', { cluster: name, labels: [], apiUrl: 'http://10.0.0.3:8080' }],
    ]);
    expect(await clusters.findByName(name)).toMatchObject({ labels: [], apiUrl: 'http://10.0.0.3:8080', enabled: false });
  });

  it('reports the join once when two replicas of a new cluster start at the same moment', async () => {
    const name = uniqueClusterName('reg');
    const config = clusterConfig(name, { labels: ['x'] });
    apps.push(...(await Promise.all([startRegistry(config, quietRegistryOptions()), startRegistry(config, quietRegistryOptions())])));

    const events = await clusterEvents(db, name);
    expect(events.map((event) => event.type)).toEqual(['cluster.joined']);
  });

  it('heartbeats on its timer', async () => {
    const name = uniqueClusterName('reg');
    apps.push(await startRegistry(clusterConfig(name), quietRegistryOptions({ heartbeatIntervalMs: 100 })));
    const registeredAt = (await clusters.findByName(name))!.lastHeartbeatAt.getTime();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const after = (await clusters.findByName(name))!;
    expect(after.lastHeartbeatAt.getTime()).toBeGreaterThan(registeredAt);
    expect(after.heartbeatAgeSeconds).toBeLessThan(2);
  });
});
