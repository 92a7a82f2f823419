import type { ClusterDto, ReachabilityDto } from '@infrabox/contract';
import { Cluster, ClusterReachability } from './cluster.types';

export type { ClusterDto, ReachabilityDto };

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
