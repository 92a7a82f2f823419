export { ClustersModule } from './clusters.module';
export { ClusterRepository } from './cluster.repository';
export { ClusterReachabilityRepository } from './cluster-reachability.repository';
export { toClusterDto, toReachabilityDto } from './cluster.dto';
export type { ClusterDto, ReachabilityDto } from './cluster.dto';
export type { Cluster, ClusterReachability, ClusterRegistration, ProbeResult, RegistrationResult } from './cluster.types';
export { CLUSTER_JOINED, CLUSTER_LOST, CLUSTER_UPDATED } from './cluster.events';
export type { ClusterJoinedEvent, ClusterLostEvent, ClusterUpdatedEvent } from './cluster.events';
