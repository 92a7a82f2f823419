import { randomBytes } from 'node:crypto';

/*
 * Where a cluster keeps archives in its storage. Every key starts with the cluster's name, so
 * clusters that share a bucket never write over each other's objects.
 */

/** A job's output as the cluster it ran on stored it. */
export function outputKey(cluster: string, jobId: string): string {
  return `${cluster}/output/${jobId}/output.tar`;
}

/** A build's source (the pushed upload is the master's first copy, see uploadKey). */
export function sourceKey(cluster: string, buildId: string): string {
  return `${cluster}/source/${buildId}/source.tar`;
}

/** An uploaded source (`PUT /api/v1/projects/:project/source`). */
export function uploadKey(cluster: string, uploadId: string): string {
  return `${cluster}/upload/${uploadId}/source.tar`;
}

/**
 * A key of its own for one copy received from a peer (pulled or pushed): `<key>` with a random
 * part before `.tar`. The copy is written there and verified, and only then recorded; a bad or
 * a second copy is deleted from its own key, never from the key of the copy that counts.
 */
export function receivedCopyKey(key: string): string {
  const suffix = randomBytes(6).toString('hex');
  return key.endsWith('.tar') ? `${key.slice(0, -'.tar'.length)}.${suffix}.tar` : `${key}.${suffix}`;
}
