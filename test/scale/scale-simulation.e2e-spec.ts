import path from 'node:path';
import { createPool, Database, migrate } from '@infrabox/database';
import { runScaleSimulation, ScaleRunResult } from '../../bench/scale/scale-simulation';
import { createScratchDatabase, openDatabase } from '../support/database';
import { DIST } from '../support/processes';

/** createPool's default size, plus the one LISTEN connection of the app's event server. */
const CONNECTIONS_PER_APP = 5 + 1;

/**
 * bench:scale at a small size, as a correctness check (no timing): 10 simulated clusters with
 * the real registration, placement and event code, 500 queued jobs with selectors.
 */
describe('scale simulation (10 clusters, 500 jobs)', () => {
  let result: ScaleRunResult;

  beforeAll(async () => {
    const shared = openDatabase();
    try {
      const url = await createScratchDatabase(shared);
      const pool = createPool(url, 1);
      await migrate(pool);
      await pool.end();
      result = await runScaleSimulation({
        databaseUrl: url,
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

  it('keeps every simulated app within one LISTEN connection and its pool', () => {
    expect(result.peakConnectionsPerApp).toBeGreaterThanOrEqual(2); // the sampler saw them
    expect(result.peakConnectionsPerApp).toBeLessThanOrEqual(CONNECTIONS_PER_APP);
    expect(result.peakConnections).toBeLessThanOrEqual(10 * CONNECTIONS_PER_APP);
  });
});
