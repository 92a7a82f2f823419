import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClusterReachabilityRepository, ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { ApiModule } from '../../apps/api/src/api.module';
import { masterAdminToken } from '../support/auth';
import { clusterConfig, clusterEvents, uniqueClusterName } from '../support/clusters';
import { openDatabase } from '../support/database';

describe('api: clusters (real PostgreSQL, real HTTP)', () => {
  let db: Database;
  let clusters: ClusterRepository;
  let app: INestApplication;
  let baseUrl: string;
  let admin: string;

  beforeAll(async () => {
    db = openDatabase();
    clusters = new ClusterRepository(db);
    const cluster = uniqueClusterName('api');
    app = await NestFactory.create(ApiModule.forConfig(clusterConfig(cluster)), { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    admin = await masterAdminToken();
  });
  afterAll(async () => {
    await app.close();
    await db.close();
  });

  const call = async (method: 'GET' | 'POST', path: string, token?: string) => {
    const response = await fetch(`${baseUrl}${path}`, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('GET /api/v1/clusters lists every cluster as a ClusterDto', async () => {
    const name = uniqueClusterName('w');
    await clusters.register({ name, labels: ['gpu', 'eu'], apiUrl: 'http://10.1.0.1:8080', capacity: 4 });

    const { status, body } = await call('GET', '/api/v1/clusters', admin);
    expect(status).toBe(200);
    const listed = (body as Array<Record<string, unknown>>).find((cluster) => cluster.name === name);
    expect(listed).toEqual({
      name,
      labels: ['gpu', 'eu'],
      apiUrl: 'http://10.1.0.1:8080',
      enabled: true,
      active: true,
      capacity: 4,
      projects: null,
      lastHeartbeatAt: (await clusters.findByName(name))!.lastHeartbeatAt.toISOString(),
      heartbeatAgeSeconds: expect.any(Number),
    });
    expect(listed!.heartbeatAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(listed!.heartbeatAgeSeconds).toBeLessThan(5);
  });

  it('GET /api/v1/clusters/reachability returns the matrix as ReachabilityDtos', async () => {
    const [a, b] = [uniqueClusterName('w'), uniqueClusterName('w')];
    for (const name of [a, b]) await clusters.register({ name, labels: [], apiUrl: 'http://10.1.0.2:8080' });
    const reachability = new ClusterReachabilityRepository(db);
    const ab = await reachability.record({ from: a, to: b, reachable: true, rttMs: 3.25, error: null });
    await reachability.record({ from: b, to: a, reachable: false, rttMs: null, error: 'connect ECONNREFUSED 10.1.0.2:8080' });

    const { status, body } = await call('GET', '/api/v1/clusters/reachability', admin);
    expect(status).toBe(200);
    const ours = (body as Array<Record<string, unknown>>).filter((row) => [a, b].includes(row.from as string));
    expect(ours).toEqual(
      expect.arrayContaining([
        { from: a, to: b, reachable: true, rttMs: 3.3, error: null, checkedAt: ab.checkedAt.toISOString() },
        { from: b, to: a, reachable: false, rttMs: null, error: 'connect ECONNREFUSED 10.1.0.2:8080', checkedAt: expect.any(String) },
      ]),
    );
    expect(ours).toHaveLength(2);
  });

  it('POST /api/v1/admin/clusters/:name/disable and /enable return the cluster and emit cluster.updated on a change', async () => {
    const name = uniqueClusterName('w');
    await clusters.register({ name, labels: [], apiUrl: 'http://10.1.0.3:8080' });

    const disabled = await call('POST', `/api/v1/admin/clusters/${name}/disable`, admin);
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ name, enabled: false, active: true, apiUrl: 'http://10.1.0.3:8080' });
    expect((await clusters.findByName(name))!.enabled).toBe(false);

    // Already disabled: same answer, no event.
    expect(await call('POST', `/api/v1/admin/clusters/${name}/disable`, admin)).toMatchObject({ status: 200, body: { enabled: false } });

    const enabled = await call('POST', `/api/v1/admin/clusters/${name}/enable`, admin);
    expect(enabled).toMatchObject({ status: 200, body: { name, enabled: true } });

    expect(await clusterEvents(db, name)).toEqual([
      { type: 'cluster.updated', payload: { cluster: name, enabled: false } },
      { type: 'cluster.updated', payload: { cluster: name, enabled: true } },
    ]);
    const listed = (await call('GET', '/api/v1/clusters', admin)).body as Array<{ name: string; enabled: boolean }>;
    expect(listed.find((cluster) => cluster.name === name)?.enabled).toBe(true);
  });

  it('answers 404 for an unknown cluster and emits nothing', async () => {
    const name = uniqueClusterName('nope');
    for (const action of ['enable', 'disable']) {
      expect(await call('POST', `/api/v1/admin/clusters/${name}/${action}`, admin)).toEqual({
        status: 404,
        body: { statusCode: 404, message: `cluster '${name}' not found`, error: 'Not Found' },
      });
    }
    expect(await clusterEvents(db, name)).toEqual([]);
  });

  // Found by the bad-input sweep: a NUL byte in the name reached PostgreSQL, which answered an error (500).
  it.each(['a%00b', 'UPPER', 'x'.repeat(64), '%E2%98%83'])('answers 400 for %s, which is no cluster name, and reads nothing', async (name) => {
    for (const action of ['enable', 'disable']) {
      expect(await call('POST', `/api/v1/admin/clusters/${name}/${action}`, admin)).toEqual({
        status: 400,
        body: { statusCode: 400, message: 'cluster: not a valid cluster name (a-z, 0-9 and -, at most 63)', error: 'Bad Request' },
      });
    }
  });
});
