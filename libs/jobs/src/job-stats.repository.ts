import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { JobState } from './job.types';

/** Counts of jobs (dashboard, build states, placement load, metrics) and the registry's check of active jobs. */
@Injectable()
export class JobStatsRepository {
  constructor(private readonly db: Database) {}

  /** Running jobs per cluster (the dashboard's clusters page). */
  async countRunningByCluster(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ cluster_name: string; n: number }>(
      `SELECT cluster_name, count(*)::int AS n FROM job
        WHERE cluster_name IS NOT NULL AND state = 'running'
        GROUP BY cluster_name`,
    );
    return new Map(rows.map((r) => [r.cluster_name, r.n]));
  }

  /** How many jobs of each build are in each state. */
  async stateCountsOfBuilds(buildIds: readonly string[]): Promise<Map<string, Partial<Record<JobState, number>>>> {
    const counts = new Map<string, Partial<Record<JobState, number>>>();
    if (buildIds.length === 0) return counts;
    const rows = await this.db.query<{ build_id: string; state: JobState; n: number }>(
      `SELECT build_id, state, count(*)::int AS n FROM job WHERE build_id = ANY($1::uuid[]) GROUP BY build_id, state`,
      [buildIds],
    );
    for (const row of rows) counts.set(row.build_id, { ...counts.get(row.build_id), [row.state]: row.n });
    return counts;
  }

  /** Jobs not yet ended per cluster, for least-loaded placement. */
  async countUnfinishedByCluster(): Promise<Map<string, number>> {
    const rows = await this.db.query<{ cluster_name: string; n: number }>(
      `SELECT cluster_name, count(*)::int AS n FROM job
        WHERE cluster_name IS NOT NULL AND state IN ('queued', 'scheduled', 'running')
        GROUP BY cluster_name`,
    );
    return new Map(rows.map((r) => [r.cluster_name, r.n]));
  }

  /**
   * Jobs of `cluster` per state, plus (with `withUnplaced`) the jobs no cluster has yet, under
   * cluster null. Reads only the (cluster_name, state) index; for metrics scrapes.
   */
  async countByState(cluster: string, withUnplaced: boolean): Promise<Array<{ cluster: string | null; state: JobState; count: number }>> {
    const rows = await this.db.query<{ cluster_name: string | null; state: JobState; n: number }>(
      `SELECT cluster_name, state, count(*)::int AS n FROM job
        WHERE cluster_name = $1 OR ($2 AND cluster_name IS NULL)
        GROUP BY cluster_name, state`,
      [cluster, withUnplaced],
    );
    return rows.map((r) => ({ cluster: r.cluster_name, state: r.state, count: r.n }));
  }

  /**
   * Whether a job of a build of project `projectName` waits or runs on `cluster` (queued there,
   * scheduled or running): what lets that peer pull the project's images from this cluster's
   * registry. Reads the (cluster_name, state) index.
   */
  async hasActiveJobOfProjectOn(cluster: string, projectName: string): Promise<boolean> {
    const [row] = await this.db.query<{ active: boolean }>(
      `SELECT EXISTS (
         SELECT 1 FROM job j JOIN build b ON b.id = j.build_id JOIN project p ON p.id = b.project_id
          WHERE j.cluster_name = $1 AND j.state IN ('queued', 'scheduled', 'running') AND p.name = $2
       ) AS active`,
      [cluster, projectName],
    );
    return row?.active === true;
  }
}
