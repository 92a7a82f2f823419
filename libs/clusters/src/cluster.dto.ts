import { Cluster, ClusterReachability } from './cluster.types';

/** A cluster as the API shows it. */
export interface ClusterDto {
  name: string;
  labels: string[];
  apiUrl: string;
  enabled: boolean;
  active: boolean;
  capacity: number;
  /** A protected cluster's projects (it runs no other project's jobs); null: every project's. */
  projects: string[] | null;
  /** ISO 8601. */
  lastHeartbeatAt: string;
  /** By the database clock, in seconds with millisecond precision. */
  heartbeatAgeSeconds: number;
}

/** The last probe of `to`'s API from `from`. */
export interface ReachabilityDto {
  from: string;
  to: string;
  reachable: boolean;
  /** Round trip of `GET /health/live`, in milliseconds; null when no answer came. */
  rttMs: number | null;
  error: string | null;
  /** ISO 8601. */
  checkedAt: string;
}

export function toClusterDto(cluster: Cluster): ClusterDto {
  return {
    name: cluster.name,
    labels: [...cluster.labels],
    apiUrl: cluster.apiUrl,
    enabled: cluster.enabled,
    active: cluster.active,
    capacity: cluster.capacity,
    projects: cluster.projects === null ? null : [...cluster.projects],
    lastHeartbeatAt: cluster.lastHeartbeatAt.toISOString(),
    heartbeatAgeSeconds: Math.round(cluster.heartbeatAgeSeconds * 1000) / 1000,
  };
}

export function toReachabilityDto(reachability: ClusterReachability): ReachabilityDto {
  return {
    from: reachability.from,
    to: reachability.to,
    reachable: reachability.reachable,
    rttMs: reachability.rttMs === null ? null : Math.round(reachability.rttMs * 10) / 10,
    error: reachability.error,
    checkedAt: reachability.checkedAt.toISOString(),
  };
}
