import type { JobState } from '@infrabox/contract';
import type { DependencyCondition, JobDefinition } from '@infrabox/job-definition';

// The states are the API's contract (@infrabox/contract); re-exported for the code that reads jobs from here.
export { FINAL_STATES, isFinal, JOB_STATES } from '@infrabox/contract';
export type { FinalJobState, JobState } from '@infrabox/contract';

/** A row of `job`, as the services see it. */
export interface Job {
  id: string;
  buildId: string;
  name: string;
  type: JobDefinition['type'];
  state: JobState;
  definition: JobDefinition;
  cluster: string | null;
  message: string | null;
  exitCode: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A job's parent as seen from the child: its state and where it ran, and the child's condition. */
export interface ParentLink {
  parentId: string;
  parentName: string;
  parentState: JobState;
  parentCluster: string | null;
  on: DependencyCondition[];
  /** Bytes of the parent's output where it ran; null when it never ran (no output recorded). */
  outputSize: number | null;
  /** Whether the cluster the child is placed on holds a copy of that output. */
  outputHere: boolean;
  /** Whether the child runs the image this parent built (`"image": {"job": <parent>}`). */
  imageWanted: boolean;
  /** Whether the registry of the child's cluster holds that image. */
  imageHere: boolean;
}

export interface Build {
  id: string;
  projectId: string;
  number: number;
  createdAt: Date;
}

export interface Project {
  id: string;
  name: string;
}
