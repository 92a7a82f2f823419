import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

/** One copy of a job's output: on the cluster it ran on, or forwarded to another. */
export interface JobOutput {
  jobId: string;
  cluster: string;
  /** null: the job wrote nothing (size 0), so there are no bytes to store or move. */
  storageKey: string | null;
  size: number;
  sha256: string;
}

interface JobOutputRow {
  job_id: string;
  cluster_name: string;
  storage_key: string | null;
  size_bytes: string;
  sha256: string;
}

const COLUMNS = 'job_id, cluster_name, storage_key, size_bytes, sha256';

/** SQL for `job_output`. */
@Injectable()
export class JobOutputRepository {
  constructor(private readonly db: Database) {}

  /** Records a copy; a second record of the same copy (a re-delivered event) changes nothing. */
  async record(output: JobOutput): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO job_output (job_id, cluster_name, storage_key, size_bytes, sha256)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id, cluster_name) DO NOTHING RETURNING job_id`,
      [output.jobId, output.cluster, output.storageKey, output.size, output.sha256],
    );
    return rows.length > 0;
  }

  /** Records many copies in one statement (the ends of a group commit). */
  async recordMany(outputs: readonly JobOutput[]): Promise<void> {
    if (outputs.length === 0) return;
    await this.db.query(
      `INSERT INTO job_output (job_id, cluster_name, storage_key, size_bytes, sha256)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[])
       ON CONFLICT (job_id, cluster_name) DO NOTHING`,
      [
        outputs.map((o) => o.jobId),
        outputs.map((o) => o.cluster),
        outputs.map((o) => o.storageKey),
        outputs.map((o) => o.size),
        outputs.map((o) => o.sha256),
      ],
      'job_output_record_many',
    );
  }

  async find(jobId: string, cluster: string): Promise<JobOutput | null> {
    const [row] = await this.db.query<JobOutputRow>(`SELECT ${COLUMNS} FROM job_output WHERE job_id = $1 AND cluster_name = $2`, [
      jobId,
      cluster,
    ]);
    return row ? toOutput(row) : null;
  }

  /** The copy on the cluster the job ran on. */
  async findOrigin(jobId: string): Promise<JobOutput | null> {
    const [row] = await this.db.query<JobOutputRow>(
      `SELECT o.job_id, o.cluster_name, o.storage_key, o.size_bytes, o.sha256
         FROM job_output o JOIN job j ON j.id = o.job_id AND j.cluster_name = o.cluster_name
        WHERE o.job_id = $1`,
      [jobId],
    );
    return row ? toOutput(row) : null;
  }

  /**
   * Outputs that must move for queued children to run, where `cluster` is the source or the
   * target: (job, from the cluster it ran on, to a child's cluster without a copy yet).
   */
  async neededCopies(cluster: string): Promise<Array<{ jobId: string; from: string; to: string }>> {
    return this.db.query(
      `SELECT DISTINCT o.job_id AS "jobId", o.cluster_name AS "from", c.cluster_name AS "to"
         FROM job_output o
         JOIN job p ON p.id = o.job_id AND p.cluster_name = o.cluster_name
         JOIN job_dependency d ON d.parent_job_id = p.id
         JOIN job c ON c.id = d.job_id
        WHERE o.size_bytes > 0 AND c.state = 'queued' AND c.cluster_name IS NOT NULL
          AND c.cluster_name <> o.cluster_name AND $1 IN (o.cluster_name, c.cluster_name)
          AND NOT EXISTS (SELECT 1 FROM job_output l WHERE l.job_id = o.job_id AND l.cluster_name = c.cluster_name)`,
      [cluster],
    );
  }

  /** Every copy of the given jobs' outputs, for deciding whether a child's inputs are all here. */
  async findForJobs(jobIds: readonly string[]): Promise<JobOutput[]> {
    if (jobIds.length === 0) return [];
    const rows = await this.db.query<JobOutputRow>(`SELECT ${COLUMNS} FROM job_output WHERE job_id = ANY($1::uuid[])`, [jobIds]);
    return rows.map(toOutput);
  }
}

function toOutput(row: JobOutputRow): JobOutput {
  return {
    jobId: row.job_id,
    cluster: row.cluster_name,
    storageKey: row.storage_key,
    size: Number(row.size_bytes),
    sha256: row.sha256,
  };
}

