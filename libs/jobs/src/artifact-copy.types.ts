import { outputKey, sourceKey } from './storage-keys';

/**
 * The archives that move between clusters, each kept as one copy per cluster: a job's output
 * (keyed by the job's id) and a build's source (keyed by the build's id). A docker job's image is
 * a copy too, but in a registry (see JobImage).
 */
export const ARTIFACT_KINDS = ['output', 'source'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export function isArtifactKind(value: unknown): value is ArtifactKind {
  return (ARTIFACT_KINDS as readonly unknown[]).includes(value);
}

/** One copy of an artifact: on the cluster that made it, or received from another. */
export interface ArtifactCopy {
  /** The job's id (an output) or the build's id (a source). */
  id: string;
  cluster: string;
  /** null: an output of a job that wrote nothing (size 0), so there are no bytes to store or move. */
  storageKey: string | null;
  size: number;
  sha256: string;
}

/** A job's output as its end reports it (recorded as the `output` copy of the cluster it ran on). */
export interface JobOutput {
  jobId: string;
  cluster: string;
  storageKey: string | null;
  size: number;
  sha256: string;
}

export function outputCopy({ jobId, ...copy }: JobOutput): ArtifactCopy {
  return { id: jobId, ...copy };
}

/** What a kind's id names, for messages and answers, and where a cluster stores its copy. */
export interface ArtifactKindInfo {
  /** `job` (an output is a job's), `build` (a source is a build's). */
  owner: 'job' | 'build';
  /** The id's field in answers: `jobId`, `buildId`. */
  idField: 'jobId' | 'buildId';
  storageKey(cluster: string, id: string): string;
}

export const ARTIFACT_KIND_INFO: Readonly<Record<ArtifactKind, ArtifactKindInfo>> = {
  output: { owner: 'job', idField: 'jobId', storageKey: outputKey },
  source: { owner: 'build', idField: 'buildId', storageKey: sourceKey },
};

/** "output of job '…'", "source of build '…'". */
export function describeArtifact(kind: ArtifactKind, id: string): string {
  return `${kind} of ${ARTIFACT_KIND_INFO[kind].owner} '${id}'`;
}
