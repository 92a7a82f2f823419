import type { FinalJobState } from './job.types';

/** Event types and payloads of the job life cycle. Payloads name what changed, nothing more. */
export const BUILD_CREATED = 'build.created';
export const JOB_PLACED = 'job.placed';
export const JOB_STARTED = 'job.started';
export const JOB_FINISHED = 'job.finished';
export const JOB_ABORT_REQUESTED = 'job.abort_requested';
export const JOB_CONSOLE = 'job.console';

/** Scoped to the cluster whose api took the build: its scheduler places the jobs. */
export interface BuildCreatedEvent {
  buildId: string;
}

/** Scoped to the cluster that will run the job. */
export interface JobPlacedEvent {
  jobId: string;
  buildId: string;
  cluster: string;
}

export interface JobStartedEvent {
  jobId: string;
  buildId: string;
  cluster: string;
}

/** Unscoped: children on any cluster, and the forwarders, react to it. */
export interface JobFinishedEvent {
  jobId: string;
  buildId: string;
  cluster: string | null;
  state: FinalJobState;
  /** Clusters holding queued children when the job ended; other schedulers need not look. */
  childClusters: string[];
}

/** Scoped to the cluster running the job. */
export interface JobAbortRequestedEvent {
  jobId: string;
}

export interface JobConsoleEvent {
  jobId: string;
  seq: number;
}

export const JOB_INPUTS_READY = 'job.inputs.ready';

/** Scoped to the cluster that now holds a copy of `jobId`'s output: its children there may run. */
export interface JobInputsReadyEvent {
  jobId: string;
  cluster: string;
}

export const BUILD_SOURCE_READY = 'build.source.ready';

/** Scoped to the cluster that now holds a copy of the build's source: its jobs there may run. */
export interface BuildSourceReadyEvent {
  buildId: string;
  cluster: string;
}
