import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { CurrentCluster, haOf, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { RunnerLease } from '../recovery/runner-lease.service';
import { JOB_EXECUTOR, JobExecutor } from './job-executor';
import { AbortReason, JobSlots } from './job-slots.pool';
import { JobWakeupQueue } from './job-wakeup.queue';

/** Stops this scheduler process as a job runner: takes nothing new, lets its jobs end, then lets go of its lease. */
@Injectable()
export class RunnerShutdown implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly shutdownGraceMs: number;

  constructor(
    private readonly slots: JobSlots,
    private readonly queue: JobWakeupQueue,
    private readonly lease: RunnerLease,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    cluster: CurrentCluster,
    @Inject(JOB_EXECUTOR) private readonly executor: JobExecutor,
  ) {
    this.shutdownGraceMs = haOf(config).shutdownGraceMs;
    this.logger = new Logger(`scheduler@${cluster.name}`);
  }

  /** First step of a shutdown (before the event transport closes): take nothing new. */
  onModuleDestroy(): void {
    this.slots.stop();
    this.queue.clear();
  }

  /**
   * Graceful stop: jobs claimed but not launched go back to the queue (each at its launch
   * point); launched jobs get the grace period to finish, then are stopped and end in `error`.
   * The runner's row goes last, once this process holds no job.
   */
  async onApplicationShutdown(): Promise<void> {
    this.onModuleDestroy();
    // Jobs of a remote executor (pods) go on without this process: it lets go of them at once.
    const remote = this.executor.reattach !== undefined;
    const deadline = Date.now() + (remote ? 0 : this.shutdownGraceMs);
    if (this.slots.size > 0 && remote) this.logger.log(`stopping: ${this.slots.size} running job(s) go on without this scheduler`);
    else if (this.slots.size > 0) this.logger.log(`stopping: ${this.slots.launchedCount} running job(s) get ${this.shutdownGraceMs / 1000} s to finish`);
    while ((this.slots.size > 0 || this.queue.busy) && Date.now() < deadline) await sleep(50);
    if (this.slots.size > 0 && !remote) this.logger.warn(`stopping: ${this.slots.size} job(s) still running after the grace period are stopped`);
    this.slots.abortAll('shutdown' satisfies AbortReason);
    while (this.slots.size > 0 || this.queue.busy) await sleep(50);
    await this.lease.release();
  }
}
