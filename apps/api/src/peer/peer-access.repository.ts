import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { FINAL_STATES } from '@infrabox/jobs';

/**
 * What a peer cluster's token may move, read from the database: a peer fetches an output or a
 * source only while it runs (or will run) a job that needs it, and pushes one only when it holds
 * a copy and a job here needs it.
 */
@Injectable()
export class PeerAccessRepository {
  constructor(private readonly db: Database) {}

  /** A job placed on `cluster` that has not ended has job `jobId` among its direct parents. */
  async needsOutput(cluster: string, jobId: string): Promise<boolean> {
    return this.exists(
      `SELECT 1 FROM job_dependency d JOIN job c ON c.id = d.job_id
        WHERE d.parent_job_id = $2 AND c.cluster_name = $1 AND NOT (c.state::text = ANY($3::text[]))`,
      [cluster, jobId, FINAL_STATES],
    );
  }

  /** A job of build `buildId` placed on `cluster` has not ended. */
  async needsSource(cluster: string, buildId: string): Promise<boolean> {
    return this.exists(`SELECT 1 FROM job WHERE build_id = $2 AND cluster_name = $1 AND NOT (state::text = ANY($3::text[]))`, [cluster, buildId, FINAL_STATES]);
  }

  async holdsOutput(cluster: string, jobId: string): Promise<boolean> {
    return this.exists('SELECT 1 FROM job_output WHERE job_id = $2 AND cluster_name = $1', [cluster, jobId]);
  }

  async holdsSource(cluster: string, buildId: string): Promise<boolean> {
    return this.exists('SELECT 1 FROM build_source WHERE build_id = $2 AND cluster_name = $1', [cluster, buildId]);
  }

  private async exists(sql: string, params: unknown[]): Promise<boolean> {
    const [row] = await this.db.query<{ found: boolean }>(`SELECT EXISTS (${sql}) AS found`, params);
    return row?.found === true;
  }
}
