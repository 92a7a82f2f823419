import type { ClusterDto, ReachabilityDto } from '@infrabox/contract';

export interface DashboardClusterDto extends ClusterDto {
  runningJobs: number;
}

/** The clusters page: every cluster with its running jobs, and the reachability matrix. */
export interface ClustersOverviewDto {
  clusters: DashboardClusterDto[];
  reachability: ReachabilityDto[];
}
