import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { JOB_COLUMNS, jobColumnsOf, JobRow, toJob } from './job.row';
import { Job, ParentLink } from './job.types';

export interface JobWithParents {
  job: Job;
  parents: ParentLink[];
  /** Whether the job's build has a source, and whether the job's cluster holds a copy of it. */
  source: { required: boolean; here: boolean };
}

/** The scheduler's reads of the jobs it may run on its cluster, each with what it waits for. */
@Injectable()
export class JobExecutionRepository {
  constructor(private readonly db: Database) {}

  /** Jobs queued on `cluster` whose parents have all ended: the ones a scheduler may decide on now. */
  async findDecidableOn(cluster: string, limit = 500): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM job j
        WHERE j.state = 'queued' AND j.cluster_name = $1
          AND NOT EXISTS (
            SELECT 1 FROM job_dependency d JOIN job p ON p.id = d.parent_job_id
             WHERE d.job_id = j.id AND p.state IN ('queued', 'scheduled', 'running'))
        ORDER BY j.created_at LIMIT $2`,
      [cluster, limit],
    );
    return rows.map(toJob);
  }

  /**
   * Takes over the jobs running on `cluster` that no registered scheduler runner holds (theirs
   * stopped, or died and was taken by the orphan recovery): they become `runnerId`'s. Only for
   * executors whose jobs outlive the scheduler (pods). Conditional, so one runner gets each.
   */
  async adoptOrphanedRunning(cluster: string, runnerId: string): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `UPDATE job SET runner_id = $2
        WHERE state = 'running' AND cluster_name = $1
          AND (runner_id IS NULL OR NOT EXISTS (SELECT 1 FROM scheduler_runner r WHERE r.id = job.runner_id))
        RETURNING ${JOB_COLUMNS}`,
      [cluster, runnerId],
    );
    return rows.map(toJob);
  }

  /** Jobs with their parents, in one round trip (the scheduler's hot path). */
  async findManyWithParents(jobIds: readonly string[]): Promise<JobWithParents[]> {
    return this.withParents('j.id = ANY($1::uuid[])', [jobIds], 'job_many_with_parents');
  }

  /** The queued children of a job placed on `cluster`, each with all its parents. */
  async queuedChildrenWithParents(parentId: string, cluster: string): Promise<JobWithParents[]> {
    return this.withParents(
      `j.state = 'queued' AND j.cluster_name = $2 AND j.id IN (SELECT job_id FROM job_dependency WHERE parent_job_id = $1)`,
      [parentId, cluster],
      'job_queued_children_with_parents',
    );
  }

  /** The queued jobs of a build placed on `cluster`, each with all its parents. */
  async queuedOfBuildWithParents(buildId: string, cluster: string): Promise<JobWithParents[]> {
    return this.withParents(`j.state = 'queued' AND j.cluster_name = $2 AND j.build_id = $1`, [buildId, cluster], 'job_queued_of_build_with_parents');
  }

  private async withParents(where: string, params: unknown[], name: string): Promise<JobWithParents[]> {
    const rows = await this.db.query<JobRow & { parents: ParentLink[]; source_required: boolean; source_here: boolean }>(
      `SELECT ${jobColumnsOf('j')},
              coalesce(json_agg(json_build_object(
                'parentId', p.id, 'parentName', p.name, 'parentState', p.state,
                'parentCluster', p.cluster_name, 'on', d.on_states,
                'outputSize', origin.size_bytes, 'outputHere', here.job_id IS NOT NULL,
                'imageWanted', coalesce(j.definition->'image'->>'job' = p.name, false), 'imageHere', image.job_id IS NOT NULL)) FILTER (WHERE p.id IS NOT NULL), '[]') AS parents,
              EXISTS (SELECT 1 FROM build_source s WHERE s.build_id = j.build_id) AS source_required,
              EXISTS (SELECT 1 FROM build_source s WHERE s.build_id = j.build_id AND s.cluster_name = j.cluster_name) AS source_here
         FROM job j
         LEFT JOIN job_dependency d ON d.job_id = j.id
         LEFT JOIN job p ON p.id = d.parent_job_id
         LEFT JOIN job_output origin ON origin.job_id = p.id AND origin.cluster_name = p.cluster_name
         LEFT JOIN job_output here ON here.job_id = p.id AND here.cluster_name = j.cluster_name
         LEFT JOIN job_image image ON image.job_id = p.id AND image.cluster_name = j.cluster_name
        WHERE ${where}
        GROUP BY j.id`,
      params,
      name,
    );
    return rows.map((row) => ({ job: toJob(row), parents: row.parents, source: { required: row.source_required, here: row.source_here } }));
  }
}
