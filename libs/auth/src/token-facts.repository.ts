import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { FINAL_STATES } from '@infrabox/jobs';

/** What the database says about the job a job token names. */
export interface JobTokenFacts {
  /** The cluster the job is placed on: the only one whose job tokens for it are accepted. */
  cluster: string | null;
  buildId: string;
  projectId: string;
  /** The job is in a final state: its tokens are dead. */
  ended: boolean;
  /** Ids of its direct parents. */
  parents: string[];
}

/** Whether a cluster's tokens are accepted: it must be enabled and active (not lost). */
export interface ClusterStanding {
  enabled: boolean;
  active: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The reads a token's verification makes, so that claims are checked against the database rather than trusted. */
@Injectable()
export class TokenFactsRepository {
  constructor(private readonly db: Database) {}

  async jobFacts(jobId: string): Promise<JobTokenFacts | null> {
    if (!UUID.test(jobId)) return null;
    const [row] = await this.db.query<{ cluster_name: string | null; build_id: string; project_id: string; ended: boolean; parents: string[] }>(
      `SELECT j.cluster_name, j.build_id, b.project_id, j.state::text = ANY($2::text[]) AS ended,
              array(SELECT d.parent_job_id::text FROM job_dependency d WHERE d.job_id = j.id) AS parents
         FROM job j JOIN build b ON b.id = j.build_id
        WHERE j.id = $1`,
      [jobId, FINAL_STATES],
    );
    return row ? { cluster: row.cluster_name, buildId: row.build_id, projectId: row.project_id, ended: row.ended, parents: row.parents } : null;
  }

  async clusterStanding(cluster: string): Promise<ClusterStanding | null> {
    const [row] = await this.db.query<ClusterStanding>('SELECT enabled, active FROM cluster WHERE name = $1', [cluster]);
    return row ?? null;
  }
}
