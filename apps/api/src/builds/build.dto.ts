import type { Build, Job } from '@infrabox/jobs';

export interface JobDto {
  id: string;
  buildId: string;
  name: string;
  type: string;
  state: string;
  cluster: string | null;
  message: string | null;
  exitCode: number | null;
  dependsOn: string[];
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
