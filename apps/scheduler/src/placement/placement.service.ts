import { Injectable, Logger } from '@nestjs/common';
import { ClusterReachabilityRepository, ClusterRepository } from '@infrabox/clusters';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { Job, JOB_PLACED, JobPlacedEvent, JobRepository, JobTransitions } from '@infrabox/jobs';
import { PlacementMetrics } from './placement.metrics';
import { CandidateCluster, CanTransfer, choosePlacement, PlacedParent } from './placement.policy';

/** Any constant shared by every scheduler of every cluster (the migration lock is ...401). */
export const PLACEMENT_SWEEP_LOCK_KEY = 7_286_133_407;

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
    private readonly jobs: JobRepository,
    private readonly clusters: ClusterRepository,
    private readonly reachability: ClusterReachabilityRepository,
    private readonly transitions: JobTransitions,
    private readonly events: PgEventClient,
    private readonly metrics: PlacementMetrics,
  ) {}

  async placeBuild(buildId: string): Promise<number> {
    return this.db.transaction(async () => {
      const unplaced = await this.jobs.lockUnplacedOfBuild(buildId);
      if (unplaced.length === 0) return 0;
      return this.place(buildId, unplaced);
    });
  }

  /** Takes the queued jobs away from a lost or disabled cluster and places them again. */
  async rehomeQueuedOf(cluster: string): Promise<number> {
    const byBuild = await this.db.transaction(async () => {
      const jobs = await this.jobs.unplaceQueuedOn(cluster);
      const builds = new Map<string, Job[]>();
      for (const job of jobs) builds.set(job.buildId, [...(builds.get(job.buildId) ?? []), job]);
      let placed = 0;
      for (const [buildId, buildJobs] of builds) placed += await this.place(buildId, buildJobs, cluster);
      return placed;
    });
    if (byBuild > 0) this.logger.log(`re-homed ${byBuild} queued job(s) of cluster ${cluster}`);
    return byBuild;
  }

  /**
   * Safety net: builds whose placement was lost (a scheduler died mid-way, or the cluster whose
   * api took the build runs no scheduler). One scheduler of the installation sweeps at a time,
   * in one transaction holding an advisory lock: with a backlog older than the sweep's
   * threshold, every scheduler of 100 clusters retrying every build would cost 100 × builds
   * transactions per sweep and fight the placement it is meant to back up.
   */
  async placeForgottenBuilds(olderThanSeconds: number): Promise<void> {
    await this.db.transaction(async () => {
      if (!(await this.db.tryTransactionLock(PLACEMENT_SWEEP_LOCK_KEY))) return;
      for (const buildId of await this.jobs.buildsWithUnplacedJobs(olderThanSeconds)) await this.placeBuild(buildId);
    });
  }

  /**
   * Runs inside the caller's transaction, with `pending` locked. When re-homing (`homeCluster`
   * set), a job that no other cluster can take goes back to wait for its cluster rather than fail.
   */
  private async place(buildId: string, pending: Job[], homeCluster?: string): Promise<number> {
    // One after another: these run on the transaction's single connection.
    const clusters = await this.clusters.findAll();
    const load = await this.jobs.countUnfinishedByCluster();
    const unreachable = await this.reachability.findUnreachable();
    const all = await this.jobs.findByBuild(buildId);
    const edges = await this.jobs.dependenciesOfBuild(buildId);
    const candidates: CandidateCluster[] = clusters.map((c) => ({ ...c, load: load.get(c.name) ?? 0 }));
    const blocked = new Set(unreachable.map((r) => `${r.from}→${r.to}`));
    // Bytes on `from` reach `to` if `to` can pull from `from`, or `from` can push to `to`; pairs
    // never probed count as reachable.
    const canTransfer: CanTransfer = (from, to) => !blocked.has(`${to}→${from}`) || !blocked.has(`${from}→${to}`);

    const byId = new Map(all.map((j) => [j.id, j]));
    const clusterOf = new Map(all.filter((j) => j.cluster).map((j) => [j.id, j.cluster!]));
    const parentsOf = new Map<string, string[]>();
    for (const e of edges) parentsOf.set(e.jobId, [...(parentsOf.get(e.jobId) ?? []), e.parentId]);

    const assignments: Array<{ jobId: string; cluster: string }> = [];
    for (const job of topologicalOrder(pending, parentsOf)) {
      const parents: PlacedParent[] = (parentsOf.get(job.id) ?? [])
        .filter((id) => clusterOf.has(id))
        .map((id) => ({ name: byId.get(id)!.name, cluster: clusterOf.get(id)! }));
      const decision = choosePlacement({ job: job.name, requirement: job.definition.cluster, parents }, candidates, canTransfer);
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
      assignments.push({ jobId: job.id, cluster: decision.cluster });
      clusterOf.set(job.id, decision.cluster);
      candidates.find((c) => c.name === decision.cluster)!.load++;
    }
    const placed = new Set(await this.jobs.placeMany(assignments));
    const events: JobPlacedEvent[] = assignments
      .filter((a) => placed.has(a.jobId))
      .map((a) => ({ jobId: a.jobId, buildId, cluster: a.cluster }));
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
