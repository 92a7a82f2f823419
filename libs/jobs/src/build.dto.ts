/**
 * Builds and jobs as the API answers them: the contract the api sends and the CLI, the dashboard
 * and the tests read.
 */
import type { Build, Job, JobState } from './job.types';

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

/** A build's state, summed up from its jobs': see {@link buildState}. */
export type BuildState = 'queued' | 'running' | 'finished' | 'unstable' | 'failure' | 'error' | 'killed';

/** A build in a listing (`GET /api/v1/builds`, the dashboard): with its state and jobs per state. */
export interface BuildSummaryDto extends BuildDto {
  state: BuildState;
  /** Jobs per state. */
  jobStates: Partial<Record<JobState, number>>;
}

const WORST_FIRST: ReadonlyArray<BuildState & JobState> = ['error', 'failure', 'killed', 'unstable'];

/**
 * `running` while any job is scheduled or running, `queued` while jobs wait and none runs;
 * once every job has ended, the worst end state among them (error, failure, killed, unstable),
 * else `finished` (skipped jobs count as finished: their condition chose not to run them).
 */
export function buildState(counts: Partial<Record<JobState, number>>): BuildState {
  if ((counts.running ?? 0) + (counts.scheduled ?? 0) > 0) return 'running';
  if ((counts.queued ?? 0) > 0) return 'queued';
  return WORST_FIRST.find((state) => (counts[state] ?? 0) > 0) ?? 'finished';
}

export function toJobDto(job: Job): JobDto {
  return {
    id: job.id,
    buildId: job.buildId,
    name: job.name,
    type: job.type,
    state: job.state,
    cluster: job.cluster,
    message: job.message,
    exitCode: job.exitCode,
    dependsOn: job.definition.dependsOn.map((d) => d.job),
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

export function toBuildDto(build: Build, project: string, jobs?: Job[]): BuildDto {
  return {
    id: build.id,
    project,
    number: build.number,
    createdAt: build.createdAt.toISOString(),
    ...(jobs ? { jobs: jobs.map(toJobDto) } : {}),
  };
}

/** A listed build: its state from the count of its jobs per state. */
export function toBuildSummaryDto(build: Build, project: string, jobStates: Partial<Record<JobState, number>>, jobs?: Job[]): BuildSummaryDto {
  return { ...toBuildDto(build, project, jobs), state: buildState(jobStates), jobStates };
}
