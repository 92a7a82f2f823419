import type { BuildDto, BuildSummaryDto, JobDto } from '@infrabox/contract';
import { formatTable } from './text-table';

/** A build as `GET /api/v1/builds/:id` answers it: with its jobs. */
export type BuildWithJobs = BuildDto & { jobs: JobDto[] };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isTextOrNull = (value: unknown) => value === null || typeof value === 'string';

/** Checks an answer really is a job, so a wrong URL gives a clear message. */
export function isJobDto(value: unknown): value is JobDto {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.name === 'string' &&
    typeof value.state === 'string' &&
    isTextOrNull(value.cluster) &&
    (value.exitCode === null || typeof value.exitCode === 'number') &&
    isTextOrNull(value.startedAt) &&
    isTextOrNull(value.finishedAt)
  );
}

/** Checks the answer really is a build with jobs. */
export function isBuildWithJobs(value: unknown): value is BuildWithJobs {
  return isObject(value) && typeof value.id === 'string' && Array.isArray(value.jobs) && value.jobs.every(isJobDto);
}

/** Checks the answer really is a list of builds with their states (`GET /api/v1/builds`). */
export function isBuildSummaryList(value: unknown): value is BuildSummaryDto[] {
  return (
    Array.isArray(value) &&
    value.every(
      (b: unknown) =>
        isObject(b) && typeof b.id === 'string' && typeof b.project === 'string' && typeof b.number === 'number' && typeof b.state === 'string' && typeof b.createdAt === 'string',
    )
  );
}

/** An ISO time to the second (`2026-12-02T07:10:34Z`), `-` when absent. */
function time(iso: string | null): string {
  return iso === null ? '-' : iso.replace(/\.\d+Z$/, 'Z');
}

/** Lines of a job listing (`infrabox jobs`): ID NAME STATE CLUSTER EXIT STARTED FINISHED MESSAGE. */
export function formatJobsTable(jobs: readonly JobDto[]): string[] {
  const header = ['ID', 'NAME', 'STATE', 'CLUSTER', 'EXIT', 'STARTED', 'FINISHED', 'MESSAGE'];
  return formatTable(
    header,
    jobs.map((job) => [job.id, job.name, job.state, job.cluster ?? '-', job.exitCode === null ? '-' : String(job.exitCode), time(job.startedAt), time(job.finishedAt), job.message ?? '']),
  );
}

/** Lines of the `infrabox builds` table: ID PROJECT NUMBER STATE CREATED. */
export function formatBuildsTable(builds: readonly BuildSummaryDto[]): string[] {
  const header = ['ID', 'PROJECT', 'NUMBER', 'STATE', 'CREATED'];
  return formatTable(header, builds.map((b) => [b.id, b.project, String(b.number), b.state, time(b.createdAt)]));
}
