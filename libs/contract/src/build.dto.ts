/** Builds and jobs as the API answers them: what the api sends and the CLI, the dashboard and the tests read. */
import type { JobState } from './job-states';

export interface JobDto {
  id: string;
  buildId: string;
  name: string;
  type: string;
  state: JobState;
  cluster: string | null;
  message: string | null;
  exitCode: number | null;
  dependsOn: string[];
  /** ISO 8601, as are startedAt and finishedAt (null until the job started, ended). */
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface BuildDto {
  id: string;
  project: string;
  number: number;
  createdAt: string;
  jobs?: JobDto[];
}

/** A build's state, summed up from its jobs' (libs/jobs `buildState`). */
export type BuildState = 'queued' | 'running' | 'finished' | 'unstable' | 'failure' | 'error' | 'killed';

/** A build in a listing (`GET /api/v1/builds`, the dashboard): with its state and jobs per state. */
export interface BuildSummaryDto extends BuildDto {
  state: BuildState;
  /** Jobs per state. */
  jobStates: Partial<Record<JobState, number>>;
}

/** `GET /api/v1/jobs/:id/console`: one chunk of a job's console output. */
export interface ConsoleChunkDto {
  seq: number;
  text: string;
  /** ISO 8601. */
  createdAt: string;
}
