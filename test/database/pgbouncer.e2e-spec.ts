import type { BuildDto } from '@infrabox/jobs';
import { Database } from '@infrabox/database';
import { RunningPgBouncer, startPgBouncer } from '../../bench/pgbouncer.launcher';
import { liveRegistryOptions, uniqueClusterName } from '../support/clusters';
import { databaseUrl, openDatabase } from '../support/database';
import { apiAs, consoleOf, onlyTheseActive, RunningCluster, settledJobs, startCluster } from '../support/installation';

type Backend = { application_name: string; client_port: number };

/**
 * Two clusters whose apps (api, registry, scheduler, output-forwarder, as processes) reach
 * PostgreSQL as a large installation does: their pools through a real PgBouncer in transaction
 * mode (`DATABASE_POOLER_URL`), only the sessions that need a session of their own (LISTEN,
 * session advisory locks, migrations) directly (`DATABASE_URL`).
 */
describe('the apps through a real PgBouncer in transaction mode', () => {
  const suffix = uniqueClusterName('');
  const names = { a: `pgb-a${suffix}`, b: `pgb-b${suffix}` };
  let bouncer: RunningPgBouncer;
  let clusters: RunningCluster[] = [];
  let db: Database;

  beforeAll(async () => {
    db = openDatabase(1);
    // Fewer server connections than the eight apps' pools hold clients: they must share them.
    bouncer = await startPgBouncer(databaseUrl(), { poolSize: 6 });
    const env = { DATABASE_URL: databaseUrl(), DATABASE_POOLER_URL: bouncer.url };
    const registry = liveRegistryOptions();
    clusters = await Promise.all([
      startCluster({ name: names.a, labels: [names.a] }, { registry, forwarder: true, env }),
      startCluster({ name: names.b, labels: [names.b] }, { registry, forwarder: true, env }),
    ]);
    await onlyTheseActive(clusters[0].apiUrl, Object.values(names));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    await bouncer?.stop();
    await db?.close();
  });

  it('a build whose outputs cross the clusters both ways finishes; every pool goes through PgBouncer, only LISTEN and lock sessions connect directly', async () => {
    const [a] = clusters;
    const build = await apiAs<BuildDto>(a.adminToken, a.apiUrl, 'POST', '/api/v1/projects/pgbouncer/builds', {
      definition: {
        version: 1,
        jobs: [
          { name: 'first', type: 'docker-image', image: 'none', cluster: { selector: [names.a] }, command: ['sh', '-c', 'echo one > "$INFRABOX_OUTPUT/one.txt"'] },
          {
            name: 'second',
            type: 'docker-image',
            image: 'none',
            depends_on: ['first'],
            cluster: { selector: [names.b] },
            command: ['sh', '-c', 'cat "$INFRABOX_INPUTS/first/one.txt" > "$INFRABOX_OUTPUT/two.txt"; echo two >> "$INFRABOX_OUTPUT/two.txt"'],
          },
          { name: 'third', type: 'docker-image', image: 'none', depends_on: ['second'], cluster: { selector: [names.a] }, command: ['sh', '-c', 'cat "$INFRABOX_INPUTS/second/two.txt"'] },
        ],
      },
    });
    expect(build.status).toBe(201);
    const jobs = await settledJobs(a.apiUrl, build.body.id, 120_000);
    expect([...jobs.values()].map((j) => `${j.name} ${j.state} ${j.message ?? ''}`.trim()).sort()).toEqual(['first finished', 'second finished', 'third finished']);
    expect(await consoleOf(a.apiUrl, jobs.get('third')!.id)).toContain('one\ntwo');

    // Every app process of both clusters ran its pool's transactions as a client of PgBouncer.
    const clients = (await bouncer.show('CLIENTS')).map((c) => String(c.application_name));
    for (const cluster of clusters) {
      const pooled = cluster.processes.filter((p) => clients.includes(`infrabox[${p.pid}] ${cluster.name} pool`));
      expect(pooled.map((p) => p.script)).toEqual(cluster.processes.map((p) => p.script));
    }

    // What connects past it: the backends of these clusters that are not PgBouncer's own.
    const pgbouncerPorts = new Set((await bouncer.show('SERVERS')).map((s) => Number(s.local_port)));
    for (const cluster of clusters) {
      const backends = await db.query<Backend>(
        `SELECT application_name, client_port FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE '%' || $1 || '%'`,
        [cluster.name],
      );
      const direct = backends.filter((b) => !pgbouncerPorts.has(b.client_port)).map((b) => b.application_name.replace(/^infrabox\[\d+\] /, ''));
      expect(direct.filter((name) => !/ (listener|leader|claims)$/.test(name))).toEqual([]);
      expect(direct.length).toBeGreaterThan(0);
      process.stdout.write(`pgbouncer: cluster ${cluster.name}: ${direct.length} direct connection(s) for ${cluster.processes.length} apps (${direct.sort().join(', ')}); the pools through PgBouncer\n`);
    }
  }, 180_000);
});
