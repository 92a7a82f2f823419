import type { JobDefinition } from '@infrabox/job-definition';
import { Job, JobState } from './job.types';

/** A `job` row as the job repositories read it. */
export interface JobRow {
  id: string;
  build_id: string;
  name: string;
  type: Job['type'];
  state: JobState;
  definition: JobDefinition;
  cluster_name: string | null;
  message: string | null;
  exit_code: number | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export const JOB_COLUMNS = 'id, build_id, name, type, state, definition, cluster_name, message, exit_code, created_at, started_at, finished_at';

/** The job columns qualified by a table alias (`j.id, j.build_id, …`), for joins. */
export function jobColumnsOf(alias: string): string {
  return JOB_COLUMNS.split(', ').map((c) => `${alias}.${c}`).join(', ');
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    buildId: row.build_id,
    name: row.name,
    type: row.type,
    state: row.state,
    definition: row.definition,
    cluster: row.cluster_name,
    message: row.message,
    exitCode: row.exit_code,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
