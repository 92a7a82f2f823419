import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import type { DependencyCondition, JobDefinition } from '@infrabox/job-definition';
import { JOB_COLUMNS, JobRow, toJob } from './job.row';
import { Job } from './job.types';

export interface NewDependency {
  jobId: string;
  parentId: string;
  on: DependencyCondition[];
}

/**
 * SQL for `job` and `job_dependency` (the edges belong to the jobs they join): a build's jobs
 * created, and jobs read by id or build (the api). Placement, execution, the state changes and
 * the counts have their own repositories.
 */
@Injectable()
export class JobRepository {
  constructor(private readonly db: Database) {}

  async insertMany(buildId: string, definitions: readonly JobDefinition[]): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(
      `INSERT INTO job (build_id, name, type, definition)
       SELECT $1, name, type, definition FROM unnest($2::text[], $3::text[], $4::jsonb[]) AS t(name, type, definition)
       RETURNING ${JOB_COLUMNS}`,
      [buildId, definitions.map((d) => d.name), definitions.map((d) => d.type), definitions.map((d) => JSON.stringify(d))],
    );
    return rows.map(toJob);
  }

  async insertDependencies(dependencies: readonly NewDependency[]): Promise<void> {
    if (dependencies.length === 0) return;
    await this.db.query(
      `INSERT INTO job_dependency (job_id, parent_job_id, on_states)
       SELECT job_id, parent_id, ARRAY(SELECT jsonb_array_elements_text(on_json::jsonb))
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(job_id, parent_id, on_json)`,
      [dependencies.map((d) => d.jobId), dependencies.map((d) => d.parentId), dependencies.map((d) => JSON.stringify(d.on))],
    );
  }

  async findById(id: string): Promise<Job | null> {
    const [row] = await this.db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM job WHERE id = $1`, [id]);
    return row ? toJob(row) : null;
  }

  async findByBuild(buildId: string): Promise<Job[]> {
    const rows = await this.db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM job WHERE build_id = $1 ORDER BY created_at, name`, [buildId]);
    return rows.map(toJob);
  }
}
