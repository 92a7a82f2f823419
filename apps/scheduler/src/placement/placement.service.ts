import { Injectable, Logger } from '@nestjs/common';
import { ClusterReachabilityRepository, ClusterRepository } from '@infrabox/clusters';
import { Database, LOCK_KEYS } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { BuildRepository, Job, JOB_PLACED, JobPlacedEvent, JobPlacementRepository, JobStatsRepository, JobTransitions } from '@infrabox/jobs';
import { PlacementMetrics } from './placement.metrics';
import { CandidateCluster, CanTransfer, choosePlacement, PlacedParent } from './placement.policy';

/** Builds placed along with the one whose event is handled, at most, per transaction. */
export const MORE_BUILDS_PER_PLACEMENT = 19;

/**
 * Gives queued jobs a cluster. Any scheduler of any cluster may do it: the rows are taken with
 * SKIP LOCKED, so when several race for one build the first places it and the others find
 * nothing to do.
 */
@Injectable()
export class PlacementService {
  private readonly logger = new Logger('placement');

  constructor(
    private readonly db: Database,
    private readonly jobs: JobPlacementRepository,
    private readonly stats: JobStatsRepository,
    private readonly builds: BuildRepository,
    private readonly clusters: ClusterRepository,
    private readonly reachability: ClusterReachabilityRepository,
    private readonly transitions: JobTransitions,
    private readonly events: PgEventClient,
    private readonly metrics: PlacementMetrics,
  ) {}

  /**
   * Places a build's jobs, and with them those of up to MORE_BUILDS_PER_PLACEMENT other builds
   * waiting (oldest first): a backlog costs one transaction per batch of builds, not one per
   * build, and the build.created events of the builds taken along find nothing left to do.
   */
  async placeBuild(buildId: string): Promise<number> {
    return this.db.transaction(async () => {
      const unplaced = await this.jobs.lockUnplacedOfBuilds(buildId, MORE_BUILDS_PER_PLACEMENT);
      if (unplaced.length === 0) return 0;
      return this.place(unplaced);
    });
  }

  /** Takes the queued jobs away from a lost or disabled cluster and places them again. */
  async rehomeQueuedOf(cluster: string): Promise<number> {
    const placed = await this.db.transaction(async () => {
      const jobs = await this.jobs.unplaceQueuedOn(cluster);
      return jobs.length > 0 ? this.place(jobs, cluster) : 0;
    });
    if (placed > 0) this.logger.log(`re-homed ${placed} queued job(s) of cluster ${cluster}`);
    return placed;
  }

  /**
   * Safety net: builds whose placement was lost (a scheduler died mid-way, or the cluster whose
   * api took the build runs no scheduler). One scheduler of the installation sweeps at a time,
   * in one transaction holding an advisory lock: with a backlog older than the sweep's
   * threshold, every scheduler of 100 clusters retrying every build would cost 100 × builds
   * transactions per sweep and fight the placement it is meant to back up. The usual answer,
   * nothing forgotten, is read first without a transaction or lock: one query per scheduler
   * per sweep, not four.
   */
  async placeForgottenBuilds(olderThanSeconds: number): Promise<void> {
    if ((await this.jobs.buildsWithUnplacedJobs(olderThanSeconds)).length === 0) return;
    await this.db.transaction(async () => {
      if (!(await this.db.tryTransactionLock(LOCK_KEYS.placementSweep))) return;
      for (const buildId of await this.jobs.buildsWithUnplacedJobs(olderThanSeconds)) await this.placeBuild(buildId);
    });
  }

  /**
   * Runs inside the caller's transaction, with `pending` (of one or more builds) locked. The
   * clusters, their load and the reachability are read once for all of them. When re-homing
   * (`homeCluster` set), a job that no other cluster can take goes back to wait for its cluster
   * rather than fail.
   */
  private async place(pending: Job[], homeCluster?: string): Promise<number> {
    const buildIds = [...new Set(pending.map((job) => job.buildId))];
    // One after another: these run on the transaction's single connection.
    const clusters = await this.clusters.findAll();
    const load = await this.stats.countUnfinishedByCluster();
    const unreachable = await this.reachability.findUnreachable();
    const all = await this.jobs.findByBuilds(buildIds);
    const edges = await this.jobs.dependenciesOfBuilds(buildIds);
    const candidates: CandidateCluster[] = clusters.map((c) => ({ ...c, load: load.get(c.name) ?? 0 }));
    // Only protected clusters ask which project a job is of.
    const projectOf = candidates.some((c) => c.projects !== null) ? await this.builds.projectNames(buildIds) : new Map<string, string>();
    const candidateByName = new Map(candidates.map((c) => [c.name, c]));
    const blocked = new Set(unreachable.map((r) => `${r.from}→${r.to}`));
    // Bytes on `from` reach `to` if `to` can pull from `from`, or `from` can push to `to`; pairs
    // never probed count as reachable.
    const canTransfer: CanTransfer = (from, to) => !blocked.has(`${to}→${from}`) || !blocked.has(`${from}→${to}`);

    const byId = new Map(all.map((j) => [j.id, j]));
    const clusterOf = new Map(all.filter((j) => j.cluster).map((j) => [j.id, j.cluster!]));
    const parentsOf = new Map<string, string[]>();
    for (const e of edges) parentsOf.set(e.jobId, [...(parentsOf.get(e.jobId) ?? []), e.parentId]);

    const assignments: Array<{ jobId: string; buildId: string; cluster: string }> = [];
    for (const job of topologicalOrder(pending, parentsOf)) {
      const parents: PlacedParent[] = (parentsOf.get(job.id) ?? [])
        .filter((id) => clusterOf.has(id))
        .map((id) => ({ name: byId.get(id)!.name, cluster: clusterOf.get(id)! }));
      const decision = choosePlacement({ job: job.name, project: projectOf.get(job.buildId) ?? '', requirement: job.definition.cluster, parents }, candidates, canTransfer);
      if ('error' in decision && homeCluster) {
        await this.jobs.place(job.id, homeCluster, `waiting for cluster ${homeCluster} to return: ${decision.error}`);
        clusterOf.set(job.id, homeCluster);
        this.metrics.failed(decision.failure, 'waiting');
        continue;
      }
      if ('error' in decision) {
        await this.transitions.end(job.id, ['queued'], 'error', { message: decision.error });
        this.logger.warn(decision.error);
        this.metrics.failed(decision.failure, 'error');
        continue;
      }
      assignments.push({ jobId: job.id, buildId: job.buildId, cluster: decision.cluster });
      clusterOf.set(job.id, decision.cluster);
      candidateByName.get(decision.cluster)!.load++;
    }
    const placed = new Set(await this.jobs.placeMany(assignments));
    const events: JobPlacedEvent[] = assignments
      .filter((a) => placed.has(a.jobId))
      .map((a) => ({ jobId: a.jobId, buildId: a.buildId, cluster: a.cluster }));
    await this.events.emitBatch(JOB_PLACED, events.map((event) => forCluster(event.cluster, event)));
    return events.length;
  }
}

/** Parents before children (among `jobs`); the validator has already rejected cycles. */
function topologicalOrder(jobs: Job[], parentsOf: Map<string, string[]>): Job[] {
  const pending = new Map(jobs.map((j) => [j.id, j]));
  const ordered: Job[] = [];
  const visit = (job: Job, seen: Set<string>) => {
    if (!pending.has(job.id) || seen.has(job.id)) return;
    seen.add(job.id);
    for (const parentId of parentsOf.get(job.id) ?? []) {
      const parent = pending.get(parentId);
      if (parent) visit(parent, seen);
    }
    pending.delete(job.id);
    ordered.push(job);
  };
  for (const job of jobs) visit(job, new Set());
  return ordered;
}
