import type { ClusterDto, ReachabilityDto } from '@infrabox/clusters';
import type { JobState } from '@infrabox/jobs';
import type { BuildDto } from '../builds/build.dto';

export interface DashboardClusterDto extends ClusterDto {
  runningJobs: number;
}

/** The clusters page: every cluster with its running jobs, and the reachability matrix. */
export interface ClustersOverviewDto {
  clusters: DashboardClusterDto[];
  reachability: ReachabilityDto[];
}

/** A build's state, summed up from its jobs': see {@link buildState}. */
export type BuildState = 'queued' | 'running' | 'finished' | 'unstable' | 'failure' | 'error' | 'killed';

export interface BuildSummaryDto extends BuildDto {
  state: BuildState;
  /** Jobs per state. */
  jobStates: Partial<Record<JobState, number>>;
}

const WORST_FIRST: ReadonlyArray<BuildState & JobState> = ['error', 'failure', 'killed', 'unstable'];

/**
 * `running` while any job is scheduled or running, `queued` while jobs wait and none runs;
 * once every job has ended, the worst end state among them (error, failure, killed, unstable),
 * else `finished` (skipped jobs count as finished: their condition chose not to run them).
 */
export function buildState(counts: Partial<Record<JobState, number>>): BuildState {
  if ((counts.running ?? 0) + (counts.scheduled ?? 0) > 0) return 'running';
  if ((counts.queued ?? 0) > 0) return 'queued';
  return WORST_FIRST.find((state) => (counts[state] ?? 0) > 0) ?? 'finished';
}
