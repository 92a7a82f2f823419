/*
 * Events about clusters. They are installation-wide (not scoped to one cluster) and name what
 * changed; consumers read the `cluster` row for anything else.
 */

export const CLUSTER_JOINED = 'cluster.joined';
export const CLUSTER_UPDATED = 'cluster.updated';
export const CLUSTER_LOST = 'cluster.lost';

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
