import { Injectable, NotFoundException } from '@nestjs/common';
import { ClusterReachabilityRepository, ClusterRepository, toClusterDto, toReachabilityDto } from '@infrabox/clusters';
import { BuildRepository, BuildSummaryDto, JobRepository, JobState, JobStatsRepository, ProjectRepository, toBuildSummaryDto } from '@infrabox/jobs';
import { ClustersOverviewDto } from './dashboard.dto';

/** What the dashboard pages show, each in one request. */
@Injectable()
export class DashboardService {
  constructor(
    private readonly clusters: ClusterRepository,
    private readonly reachability: ClusterReachabilityRepository,
    private readonly projects: ProjectRepository,
    private readonly builds: BuildRepository,
    private readonly jobs: JobRepository,
    private readonly stats: JobStatsRepository,
  ) {}

  async clustersOverview(): Promise<ClustersOverviewDto> {
    const [clusters, reachability, running] = await Promise.all([
      this.clusters.findAll(),
      this.reachability.findAll(),
      this.stats.countRunningByCluster(),
    ]);
    return {
      clusters: clusters.map((cluster) => ({ ...toClusterDto(cluster), runningJobs: running.get(cluster.name) ?? 0 })),
      reachability: reachability.map(toReachabilityDto),
    };
  }

  /** A build with its jobs (each with its state, cluster and parents): the job graph. */
  async build(buildId: string): Promise<BuildSummaryDto> {
    const build = await this.builds.findById(buildId);
    if (!build) throw new NotFoundException(`build '${buildId}' not found`);
    const [project, jobs] = await Promise.all([this.projects.findById(build.projectId), this.jobs.findByBuild(build.id)]);
    const jobStates: Partial<Record<JobState, number>> = {};
    for (const job of jobs) jobStates[job.state] = (jobStates[job.state] ?? 0) + 1;
    return toBuildSummaryDto(build, project?.name ?? '', jobStates, jobs);
  }
}
