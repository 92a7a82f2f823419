import type { Database } from '@infrabox/database';
import type { JobState } from '@infrabox/jobs';

/**
 * Moves a job to `to`, only if it is still in one of `from`, in plain SQL and without an event:
 * a test's setup of a job state (started_at for `running`, finished_at for an end), with no
 * scheduler or forwarder woken by it. True when the job moved.
 */
export async function setJobState(db: Database, jobId: string, from: readonly JobState[], to: JobState): Promise<boolean> {
  const rows = await db.query(
    `UPDATE job
        SET state = $3::job_state,
            message = CASE WHEN $3::job_state = 'scheduled' THEN NULL ELSE message END,
            started_at = CASE WHEN $3::job_state = 'running' THEN now() ELSE started_at END,
            finished_at = CASE WHEN $3::job_state IN ('finished', 'failure', 'error', 'killed', 'skipped', 'unstable')
                               THEN now() ELSE finished_at END
      WHERE id = $1 AND state = ANY($2::job_state[])
      RETURNING id`,
    [jobId, from, to],
  );
  return rows.length === 1;
}
