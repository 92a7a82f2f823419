import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { JOB_COLUMNS, JobRow, toJob } from './job.row';
import { Job } from './job.types';

/** The placement's SQL on `job`: which queued jobs need a cluster, and giving them one. */
@Injectable()
export class JobPlacementRepository {
  constructor(private readonly db: Database) {}

  /**
   * Locks the queued jobs without a cluster of a build and of up to `moreBuilds` other builds
   * waiting for placement (oldest first), so that one transaction places a backlog many builds
   * at a time. SKIP LOCKED: when several schedulers race for the same builds, the first takes
   * the rows and the others get none.
   */
  async lockUnplacedOfBuilds(buildId: string, moreBuilds: number): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM job
        WHERE state = 'queued' AND cluster_name IS NULL
          AND build_id IN (
            SELECT $1::uuid
            UNION ALL
            (SELECT build_id FROM job
              WHERE state = 'queued' AND cluster_name IS NULL AND build_id <> $1
              GROUP BY build_id ORDER BY min(created_at) LIMIT $2))
        FOR UPDATE SKIP LOCKED`,
      [buildId, moreBuilds],
    );
    return rows.map(toJob);
  }

  /** Locks the queued jobs of a cluster and takes their cluster away, for placing them again. */
  async unplaceQueuedOn(cluster: string): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET cluster_name = NULL
        WHERE id IN (SELECT id FROM job WHERE state = 'queued' AND cluster_name = $1 FOR UPDATE SKIP LOCKED)
        RETURNING ${JOB_COLUMNS}`,
      [cluster],
    );
    return rows.map(toJob);
  }

  /** Builds with queued jobs left without a cluster for longer than `olderThanSeconds`. */
  async buildsWithUnplacedJobs(olderThanSeconds: number): Promise<string[]> {
    const rows = await this.db.query<{ build_id: string }>(
      `SELECT DISTINCT build_id FROM job
        WHERE state = 'queued' AND cluster_name IS NULL AND created_at < now() - make_interval(secs => $1)`,
      [olderThanSeconds],
    );
    return rows.map((r) => r.build_id);
  }

  /** Every job of some builds (placement reads them together). */
  async findByBuilds(buildIds: readonly string[]): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM job WHERE build_id = ANY($1::uuid[]) ORDER BY created_at, name`, [buildIds]);
    return rows.map(toJob);
  }

  /** Every edge of some builds: child → parent. */
  async dependenciesOfBuilds(buildIds: readonly string[]): Promise<Array<{ jobId: string; parentId: string }>> {
    return this.db.query(
      `SELECT d.job_id AS "jobId", d.parent_job_id AS "parentId"
         FROM job_dependency d JOIN job j ON j.id = d.job_id WHERE j.build_id = ANY($1::uuid[])`,
      [buildIds],
    );
  }

  /** Sets the cluster (and the note shown with the job) of a queued job; null when it is no longer queued. */
  async place(jobId: string, cluster: string, message: string | null = null): Promise<Job | null> {
    const [row] = await this.db.query<JobRow>(
      `UPDATE job SET cluster_name = $2, message = $3 WHERE id = $1 AND state = 'queued' RETURNING ${JOB_COLUMNS}`,
      [jobId, cluster, message],
    );
    return row ? toJob(row) : null;
  }

  /** Sets the cluster of many queued jobs in one statement; returns the ids it placed. */
  async placeMany(assignments: ReadonlyArray<{ jobId: string; cluster: string }>): Promise<string[]> {
    if (assignments.length === 0) return [];
    const rows = await this.db.query<{ id: string }>(
      `UPDATE job j SET cluster_name = a.cluster, message = NULL
         FROM unnest($1::uuid[], $2::text[]) AS a(id, cluster)
        WHERE j.id = a.id AND j.state = 'queued'
        RETURNING j.id`,
      [assignments.map((a) => a.jobId), assignments.map((a) => a.cluster)],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Shows why queued jobs on `cluster` still wait — the children of `parentId`, or (without a
   * parent) every queued job of `buildId` there. Starting a job clears its message.
   */
  async noteOnWaitingJobs(where: { parentId: string } | { buildId: string }, cluster: string, message: string): Promise<number> {
    const [condition, id] =
      'parentId' in where
        ? ['id IN (SELECT job_id FROM job_dependency WHERE parent_job_id = $1)', where.parentId]
        : ['build_id = $1', where.buildId];
    const rows = await this.db.query(
      `UPDATE job SET message = $3 WHERE state = 'queued' AND cluster_name = $2 AND ${condition} RETURNING id`,
      [id, cluster, message],
    );
    return rows.length;
  }
}
