import { formatTable } from './text-table';

/** A job as `GET /api/v1/builds/:id` lists it (the fields the CLI shows). */
export interface JobView {
  id: string;
  name: string;
  state: string;
  cluster: string | null;
  message: string | null;
}

export interface BuildView {
  id: string;
  jobs: JobView[];
}

const FINAL_STATES = ['finished', 'failure', 'error', 'killed', 'skipped', 'unstable'];

export function isFinalState(state: string): boolean {
  return FINAL_STATES.includes(state);
}

/** Checks the response really is a build with jobs, so a wrong URL gives a clear message. */
export function isBuildView(value: unknown): value is BuildView {
  if (typeof value !== 'object' || value === null) return false;
  const { id, jobs } = value as { id?: unknown; jobs?: unknown };
  return (
    typeof id === 'string' &&
    Array.isArray(jobs) &&
    jobs.every(
      (job: unknown) =>
        typeof job === 'object' &&
        job !== null &&
        typeof (job as JobView).name === 'string' &&
        typeof (job as JobView).state === 'string' &&
        ((job as JobView).cluster === null || typeof (job as JobView).cluster === 'string'),
    )
  );
}

/** What `infrabox jobs --json` prints per job. */
export function jobSummary(job: JobView): { name: string; state: string; cluster: string | null; message: string | null } {
  return { name: job.name, state: job.state, cluster: job.cluster, message: job.message ?? null };
}

/** Lines of the `infrabox jobs` table: NAME STATE CLUSTER MESSAGE. */
export function formatJobsTable(jobs: readonly JobView[]): string[] {
  const header = ['NAME', 'STATE', 'CLUSTER', 'MESSAGE'];
  return formatTable(header, jobs.map((job) => [job.name, job.state, job.cluster ?? '-', job.message ?? '']));
}
