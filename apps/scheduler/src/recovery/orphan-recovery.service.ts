import { Inject, Injectable, Logger } from '@nestjs/common';
import { LeaderDuty, LeaderDutyHost } from '@infrabox/app-runtime';
import { CurrentCluster, haOf, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { JobTransitionRepository, JobTransitions, SchedulerRunner, SchedulerRunnerRepository } from '@infrabox/jobs';
import { JOB_EXECUTOR, JobExecutor } from '../execution/job-executor';
import { JobLifecycle } from '../execution/job-lifecycle.service';

export interface RecoveredJob {
  jobId: string;
  runnerId: string;
}

/**
 * Ends the jobs of schedulers that died. One scheduler per cluster leads it (LeaderDuty); every
 * tick it takes the runners of its cluster (and of clusters reported lost) whose heartbeat is
 * older than their lease, and ends each job they held (`scheduled` or `running`) in `error`,
 * naming the lost runner. Such a job is never run again: it may have started, and a job must
 * not run twice. Jobs the dead process had only read, or waited to start, are still `queued`
 * in the database (a claim and a start are one conditional UPDATE) and other schedulers take them.
 */
@Injectable()
export class OrphanRecovery extends LeaderDutyHost {
  private readonly logger: Logger;
  protected override readonly duty: LeaderDuty;
  private readonly cluster: string;
  private readonly leaseMs: number;
  /** Kubernetes executor: a dead scheduler's pods go on, so its jobs are adopted, not failed. */
  private readonly jobsOutliveSchedulers: boolean;

  constructor(
    private readonly db: Database,
    private readonly runners: SchedulerRunnerRepository,
    private readonly jobs: JobTransitionRepository,
    private readonly transitions: JobTransitions,
    private readonly lifecycle: JobLifecycle,
    @Inject(JOB_EXECUTOR) private readonly executor: JobExecutor,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    cluster: CurrentCluster,
  ) {
    super();
    this.cluster = cluster.name;
    this.jobsOutliveSchedulers = config.scheduler?.executor === 'kubernetes';
    this.leaseMs = haOf(config).leaseMs;
    this.logger = new Logger(`scheduler@${this.cluster}`);
    this.duty = new LeaderDuty({
      name: `orphan recovery of cluster '${this.cluster}'`,
      databaseUrl: db.url,
      intervalMs: Math.max(100, Math.floor(this.leaseMs / 4)),
      applicationName: `scheduler@${this.cluster} recovery leader`,
      work: () => this.recover(),
      logger: this.logger,
    });
  }

  /** Ends the jobs of dead runners in error, with their events, in one transaction; returns them. */
  async recover(): Promise<RecoveredJob[]> {
    const { dead, ended } = await this.db.transaction(async () => {
      const dead = await this.runners.takeDead(this.cluster);
      if (dead.length === 0) return { dead, ended: [] };
      const held = await this.jobs.lockActiveOfRunners(dead.map((r) => r.id));
      const byId = new Map(dead.map((r) => [r.id, r]));
      const ended: RecoveredJob[] = [];
      for (const { id, runnerId } of held) {
        // Pods of this cluster go on without their scheduler: adopted below, not failed.
        if (this.jobsOutliveSchedulers && byId.get(runnerId)!.cluster === this.cluster) continue;
        const job = await this.transitions.end(id, ['scheduled', 'running'], 'error', { message: lostMessage(byId.get(runnerId)!) });
        if (job) ended.push({ jobId: id, runnerId });
      }
      return { dead, ended };
    });
    for (const runner of dead) {
      const jobs = ended.filter((e) => e.runnerId === runner.id).map((e) => e.jobId);
      this.logger.warn(`${lostMessage(runner)}; ${jobs.length} job(s) it held ended in error${jobs.length ? `: ${jobs.join(', ')}` : ''}`);
    }
    if (ended.length > 0 && this.executor.abandon) {
      await this.executor.abandon(ended.map((e) => e.jobId)).catch((error: Error) => this.logger.warn(`cleaning up after lost schedulers: ${error.message}`));
    }
    if (this.jobsOutliveSchedulers) await this.lifecycle.reattachRunning();
    return ended;
  }
}

function lostMessage(runner: SchedulerRunner): string {
  return (
    `the scheduler running it was lost: runner ${runner.id} (pid ${runner.pid} on ${runner.hostname}, cluster ${runner.cluster}) ` +
    `sent no heartbeat since ${runner.heartbeatAt.toISOString()} (lease ${runner.leaseMs / 1000} s)`
  );
}
