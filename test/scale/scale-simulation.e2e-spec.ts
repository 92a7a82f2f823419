import path from 'node:path';
import { createPool, Database, migrate } from '@infrabox/database';
import { RunningPgBouncer, startPgBouncer } from '../../bench/pgbouncer.launcher';
import { runScaleSimulation, ScaleRunResult } from '../../bench/scale/scale-simulation';
import { createScratchDatabase, openDatabase } from '../support/database';
import { DIST } from '../support/processes';

/** createPool's default size, plus the one LISTEN connection of the app's event server. */
const CONNECTIONS_PER_APP = 5 + 1;

/**
 * bench:scale at a small size, as a correctness check (no timing): 10 simulated clusters with
 * the real registration, placement and event code, 500 queued jobs with selectors; once with
 * every connection direct, once with the pools through a real PgBouncer in transaction mode.
 */
describe.each([['directly', false], ['through PgBouncer (transaction mode)', true]])('scale simulation (10 clusters, 500 jobs), the pools connected %s', (_, pooled) => {
  let result: ScaleRunResult;
  let bouncer: RunningPgBouncer | undefined;

  afterAll(async () => {
    await bouncer?.stop();
  });

  beforeAll(async () => {
    const shared = openDatabase();
    try {
      const url = await createScratchDatabase(shared);
      const pool = createPool(url, 1);
      await migrate(pool);
      await pool.end();
      if (pooled) bouncer = await startPgBouncer(url, { poolSize: 4 });
      const pooler = bouncer && { url: bouncer.url, serverPorts: async () => new Set((await bouncer!.show('SERVERS')).map((s) => Number(s.local_port))) };
      result = await runScaleSimulation({
        databaseUrl: url,
        ...(pooler ? { pooler } : {}),
        clusters: 10,
        jobs: 500,
        hosts: 2,
        hostScript: path.join(DIST, 'bench/scale/scale-host.js'),
        timeoutMs: 90_000,
      });
    } finally {
      await shared.close();
    }
  }, 120_000);

  it('places every job on a cluster that carries all its selector labels', () => {
    expect(result.placements).toHaveLength(500);
    const wrong = result.placements.filter((p) => {
      const labels = p.cluster ? result.clusterLabels.get(p.cluster) : undefined;
      return p.state !== 'queued' || !labels || !p.selector.every((label) => labels.includes(label));
    });
    expect(wrong).toEqual([]);
    // The selectors really select: half the jobs name a group, half of those a cloud too.
    expect(result.placements.filter((p) => p.selector.length > 0).length).toBe(250);
    expect(new Set(result.placements.map((p) => p.cluster)).size).toBe(10);
  });

  it("delivers each job.placed once, to the job's own cluster only", () => {
    expect(result.misdelivered).toBe(0);
    const notOnce = result.placements.filter((p) => p.deliveredTo.length !== 1 || p.deliveredTo[0] !== p.cluster);
    expect(notOnce).toEqual([]);
  });

  it(pooled ? 'keeps every simulated app to its one LISTEN connection, its pool behind PgBouncer' : 'keeps every simulated app within one LISTEN connection and its pool', () => {
    if (pooled) {
      expect(result.peakConnectionsPerApp).toBe(1);
      expect(result.peakPoolerConnections).toBeGreaterThan(0); // the sampler saw them
      expect(result.peakPoolerConnections).toBeLessThanOrEqual(4);
    } else {
      expect(result.peakConnectionsPerApp).toBeGreaterThanOrEqual(2); // the sampler saw them
      expect(result.peakConnectionsPerApp).toBeLessThanOrEqual(CONNECTIONS_PER_APP);
      expect(result.peakPoolerConnections).toBe(0);
    }
    expect(result.peakConnections).toBeLessThanOrEqual(10 * CONNECTIONS_PER_APP);
  });
});
