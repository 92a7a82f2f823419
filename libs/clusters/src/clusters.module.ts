import { Module } from '@nestjs/common';
import { ClusterReachabilityRepository } from './cluster-reachability.repository';
import { ClusterRepository } from './cluster.repository';

/** The cluster tables' repositories; needs the (global) `DatabaseModule`. */
@Module({
  providers: [ClusterRepository, ClusterReachabilityRepository],
  exports: [ClusterRepository, ClusterReachabilityRepository],
})
export class ClustersModule {}
