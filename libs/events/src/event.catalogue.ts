import type { FinalJobState } from '@infrabox/contract';

/**
 * The catalogue of the installation's events: every event type, declared once with its payload
 * and its scope. Payloads name what changed, nothing more; consumers read the rows for the rest.
 *
 * - `installation`: every consumer of the type, on every cluster, receives it.
 * - `cluster`: only the consumers of one cluster (and readers of every cluster) receive it; the
 *   emitter names the cluster.
 *
 * `DomainEvents.emit()` and `@OnEvent()` are typed by this catalogue: an event emitted with the
 * wrong payload or scope, or a handler that expects another payload, does not compile. Adding an
 * event type: declare its constant, its payload and an entry of `EventCatalogue` and
 * `EVENT_SCOPES` below.
 */


export const BUILD_CREATED = 'build.created';
export const BUILD_SOURCE_READY = 'build.source.ready';
export const JOB_PLACED = 'job.placed';
export const JOB_STARTED = 'job.started';
export const JOB_FINISHED = 'job.finished';
export const JOB_ABORT_REQUESTED = 'job.abort_requested';
export const JOB_CONSOLE = 'job.console';
export const JOB_INPUTS_READY = 'job.inputs.ready';
export const CLUSTER_JOINED = 'cluster.joined';
export const CLUSTER_UPDATED = 'cluster.updated';
export const CLUSTER_LOST = 'cluster.lost';

/** Scoped to the cluster whose api took the build: its scheduler places the jobs. */
export interface BuildCreatedEvent {
  buildId: string;
}

/** Scoped to the cluster that now holds a copy of the build's source: its jobs there may run. */
export interface BuildSourceReadyEvent {
  buildId: string;
  cluster: string;
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

/** Installation-wide: children on any cluster, and the forwarders, react to it. */
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

/**
 * Scoped to the cluster that now holds a copy of what `jobId`'s children need (its output, or
 * the image it built): its children there may run. Announced only by the copy recorder.
 */
export interface JobInputsReadyEvent {
  jobId: string;
  cluster: string;
}

/** A cluster registered for the first time, or came back after it had been reported lost. */
export interface ClusterJoinedEvent {
  cluster: string;
  labels: string[];
  apiUrl: string;
}

/** Some of a cluster's settings changed: only the changed fields are present, with their new values. */
export interface ClusterUpdatedEvent {
  cluster: string;
  labels?: string[];
  apiUrl?: string;
  capacity?: number;
  enabled?: boolean;
}

/** A cluster's heartbeat is older than the timeout: it is now inactive. */
export interface ClusterLostEvent {
  cluster: string;
  /** ISO time of the last heartbeat seen. */
  lastHeartbeatAt: string;
}

export type EventScope = 'installation' | 'cluster';

/** Every event type: its payload and its scope. */
export interface EventCatalogue {
  [BUILD_CREATED]: { payload: BuildCreatedEvent; scope: 'cluster' };
  [BUILD_SOURCE_READY]: { payload: BuildSourceReadyEvent; scope: 'cluster' };
  [JOB_PLACED]: { payload: JobPlacedEvent; scope: 'cluster' };
  [JOB_STARTED]: { payload: JobStartedEvent; scope: 'installation' };
  [JOB_FINISHED]: { payload: JobFinishedEvent; scope: 'installation' };
  [JOB_ABORT_REQUESTED]: { payload: JobAbortRequestedEvent; scope: 'cluster' };
  [JOB_CONSOLE]: { payload: JobConsoleEvent; scope: 'installation' };
  [JOB_INPUTS_READY]: { payload: JobInputsReadyEvent; scope: 'cluster' };
  [CLUSTER_JOINED]: { payload: ClusterJoinedEvent; scope: 'installation' };
  [CLUSTER_UPDATED]: { payload: ClusterUpdatedEvent; scope: 'installation' };
  [CLUSTER_LOST]: { payload: ClusterLostEvent; scope: 'installation' };
}

export type EventType = keyof EventCatalogue;
export type PayloadOf<T extends EventType> = EventCatalogue[T]['payload'];
export type ScopeOf<T extends EventType> = EventCatalogue[T]['scope'];

/** The scope of each type at run time (the event stream and the docs list them from here). */
export const EVENT_SCOPES: { readonly [T in EventType]: ScopeOf<T> } = {
  [BUILD_CREATED]: 'cluster',
  [BUILD_SOURCE_READY]: 'cluster',
  [JOB_PLACED]: 'cluster',
  [JOB_STARTED]: 'installation',
  [JOB_FINISHED]: 'installation',
  [JOB_ABORT_REQUESTED]: 'cluster',
  [JOB_CONSOLE]: 'installation',
  [JOB_INPUTS_READY]: 'cluster',
  [CLUSTER_JOINED]: 'installation',
  [CLUSTER_UPDATED]: 'installation',
  [CLUSTER_LOST]: 'installation',
};

export const EVENT_TYPES = Object.keys(EVENT_SCOPES) as EventType[];
