import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { JOB_COLUMNS, jobColumnsOf, JobRow, toJob } from './job.row';
import { FinalJobState, Job, JobState } from './job.types';

export interface TransitionFields {
  message?: string | null;
  exitCode?: number | null;
}

/**
 * The state changes of jobs (JobTransitions writes them with their events), and the lock the
 * orphan recovery takes on the jobs of dead runners. Every change is conditional on the job's
 * current state: of several schedulers racing for a job, exactly one gets the row back.
 */
@Injectable()
export class JobTransitionRepository {
  constructor(private readonly db: Database) {}

  /**
   * Claims queued jobs placed on `cluster` and marks them running, in one statement; returns the
   * ones it got (not those another replica took, re-homed elsewhere, or aborted meanwhile).
   */
  async startMany(jobIds: readonly string[], cluster: string, runnerId: string | null = null): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET state = 'running', message = NULL, started_at = now(), runner_id = $3
        WHERE id = ANY($1::uuid[]) AND state = 'queued' AND cluster_name = $2
        RETURNING ${JOB_COLUMNS}`,
      [jobIds, cluster, runnerId],
      'job_start_many',
    );
    return rows.map(toJob);
  }

  /**
   * Gives jobs a runner claimed but never launched back to the queue (a stopping scheduler);
   * only jobs still running under that runner move. Returns the ones it moved.
   */
  async requeueMany(jobIds: readonly string[], runnerId: string): Promise<Job[]> {
    if (jobIds.length === 0) return [];
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET state = 'queued', started_at = NULL, runner_id = NULL
        WHERE id = ANY($1::uuid[]) AND state = 'running' AND runner_id = $2
        RETURNING ${JOB_COLUMNS}`,
      [jobIds, runnerId],
    );
    return rows.map(toJob);
  }

  /** Ids of the jobs the given runners hold (scheduled or running), locked until the transaction ends. */
  async lockActiveOfRunners(runnerIds: readonly string[]): Promise<Array<{ id: string; runnerId: string }>> {
    if (runnerIds.length === 0) return [];
    const rows = await this.db.query<{ id: string; runner_id: string }>(
      `SELECT id, runner_id FROM job WHERE runner_id = ANY($1::text[]) AND state IN ('scheduled', 'running') ORDER BY id FOR UPDATE`,
      [runnerIds],
    );
    return rows.map((r) => ({ id: r.id, runnerId: r.runner_id }));
  }

  /**
   * Ends many jobs in one statement, each only from its own allowed states; returns the ones it
   * moved, each with the clusters holding its queued children (for the end event).
   */
  async endMany(
    ends: ReadonlyArray<{ jobId: string; from: readonly JobState[]; state: FinalJobState } & TransitionFields>,
  ): Promise<Array<{ job: Job; queuedChildClusters: string[] }>> {
    const rows = await this.db.query<JobRow & { child_clusters: string[] }>(
      `UPDATE job
          SET state = e.state::job_state,
              message = coalesce(e.message, job.message),
              exit_code = coalesce(e.exit_code, job.exit_code),
              finished_at = now()
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[]) AS e(id, state, message, exit_code, from_states)
        WHERE job.id = e.id AND job.state::text = ANY(string_to_array(e.from_states, ','))
        RETURNING ${jobColumnsOf('job')},
          ARRAY(SELECT DISTINCT c.cluster_name FROM job_dependency d JOIN job c ON c.id = d.job_id
                 WHERE d.parent_job_id = job.id AND c.state = 'queued' AND c.cluster_name IS NOT NULL) AS child_clusters`,
      [
        ends.map((e) => e.jobId),
        ends.map((e) => e.state),
        ends.map((e) => e.message ?? null),
        ends.map((e) => e.exitCode ?? null),
        ends.map((e) => e.from.join(',')),
      ],
      'job_end_many',
    );
    return rows.map((row) => ({ job: toJob(row), queuedChildClusters: row.child_clusters }));
  }
}
