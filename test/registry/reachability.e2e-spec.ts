import { INestApplication } from '@nestjs/common';
import { ClusterReachabilityRepository, ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { ReachabilityService } from '../../apps/registry/src/reachability/reachability.service';
import {
  closedPortUrl,
  clusterConfig,
  quietRegistryOptions,
  sleep,
  startHttpServer,
  startRegistry,
  TestHttpServer,
  uniqueClusterName,
} from '../support/clusters';
import { eventually, openDatabase } from '../support/database';

describe('registry: reachability probes (real PostgreSQL, real HTTP)', () => {
  let db: Database;
  let clusters: ClusterRepository;
  let reachability: ClusterReachabilityRepository;
  const apps: INestApplication[] = [];
  const servers: TestHttpServer[] = [];

  beforeAll(() => {
    db = openDatabase();
    clusters = new ClusterRepository(db);
    reachability = new ClusterReachabilityRepository(db);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  afterAll(() => db.close());

  const server = async (handle: Parameters<typeof startHttpServer>[0]) => {
    const started = await startHttpServer(handle);
    servers.push(started);
    return started.url;
  };
  const addCluster = async (apiUrl: string) => {
    const name = uniqueClusterName('peer');
    await clusters.register({ name, labels: [], apiUrl });
    return name;
  };

  it('records reachable with the round trip, or unreachable with the reason, for every other active cluster', async () => {
    const seen: string[] = [];
    const up = await addCluster(
      await server((req, res) => {
        seen.push(`${req.method} ${req.url}`);
        res.writeHead(req.url === '/health/live' ? 200 : 404, { 'content-type': 'application/json' });
        res.end('{"status":"ok","checks":{}}');
      }),
    );
    const sick = await addCluster(await server((_req, res) => res.writeHead(503).end()));
    const silent = await addCluster(await server(() => undefined)); // accepts, never answers
    const down = await addCluster(await closedPortUrl());

    const self = uniqueClusterName('prober');
    apps.push(await startRegistry(clusterConfig(self), quietRegistryOptions({ probeIntervalMs: 100, probeTimeoutMs: 500 })));
    const targets = [up, sick, silent, down];
    await eventually(
      async () => (await Promise.all(targets.map((to) => reachability.find(self, to)))).every((row) => row !== null),
      10_000,
      'a probe of every target',
    );

    expect(await reachability.find(self, up)).toMatchObject({ reachable: true, error: null });
    const upRow = (await reachability.find(self, up))!;
    expect(upRow.rttMs).toBeGreaterThan(0);
    expect(upRow.rttMs).toBeLessThan(500);
    expect(seen[0]).toBe('GET /health/live');

    expect(await reachability.find(self, sick)).toMatchObject({ reachable: false, error: 'HTTP 503 from /health/live' });
    expect(await reachability.find(self, silent)).toMatchObject({ reachable: false, rttMs: null, error: 'no answer within 500 ms' });
    const downRow = (await reachability.find(self, down))!;
    expect(downRow).toMatchObject({ reachable: false, rttMs: null });
    expect(downRow.error).toMatch(/ECONNREFUSED/);
    // Never itself.
    expect(await reachability.find(self, self)).toBeNull();
  });

  it('updates the row when reachability changes, and skips inactive clusters', async () => {
    let healthy = true;
    const target = await addCluster(await server((_req, res) => res.writeHead(healthy ? 200 : 500).end()));
    const inactive = await addCluster('http://127.0.0.1:1');
    await sleep(50);
    // Marks every cluster silent for 40 ms inactive; the prober registers after this.
    await clusters.markLost(40);

    const self = uniqueClusterName('prober');
    const app = await startRegistry(clusterConfig(self), quietRegistryOptions());
    apps.push(app);
    await clusters.register({ name: target, labels: [], apiUrl: (await clusters.findByName(target))!.apiUrl });
    const service = app.get(ReachabilityService);

    const first = await service.probeAll();
    expect(first.map((row) => row.to)).toContain(target);
    expect(first.map((row) => row.to)).not.toContain(inactive);
    expect(await reachability.find(self, target)).toMatchObject({ reachable: true });

    healthy = false;
    await service.probeAll();
    const after = (await reachability.find(self, target))!;
    expect(after).toMatchObject({ reachable: false, error: 'HTTP 500 from /health/live' });
    expect(after.checkedAt.getTime()).toBeGreaterThanOrEqual(first.find((row) => row.to === target)!.checkedAt.getTime());
    expect(await reachability.find(self, inactive)).toBeNull();
  });
});
