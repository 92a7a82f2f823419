/** Builds and jobs as the API answers them (the types are @infrabox/contract's), from the rows. */
import type { BuildDto, BuildState, BuildSummaryDto, JobDto } from '@infrabox/contract';
import type { Build, Job, JobState } from './job.types';

export type { BuildDto, BuildState, BuildSummaryDto, JobDto };

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
