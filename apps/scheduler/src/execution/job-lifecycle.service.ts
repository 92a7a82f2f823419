import { Inject, Injectable, Logger } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { isConnectionFailure } from '@infrabox/database';
import { withLogFields } from '@infrabox/observability';
import { Job, JobExecutionRepository, JobTransitions, JobWithParents, ParentLink } from '@infrabox/jobs';
import { RunnerLease } from '../recovery/runner-lease.service';
import { JobConsoleStore } from './job-console.store';
import { JobEndWriter, outcome } from './job-end.writer';
import { ExecutionContext, ExecutionResult, JOB_EXECUTOR, JobExecutor } from './job-executor';
import { AbortReason, JobSlots } from './job-slots.pool';

/**
 * One job on this scheduler, from its claim to its end: claimed in a slot of its own, run (or,
 * for executors whose jobs outlive the scheduler, followed) under its timeout with its console
 * stored, and ended with its outcome — or handed back to the queue when nothing ran.
 */
@Injectable()
export class JobLifecycle {
  private readonly logger: Logger;
  private readonly cluster: string;

  constructor(
    private readonly executions: JobExecutionRepository,
    private readonly transitions: JobTransitions,
    private readonly lease: RunnerLease,
    private readonly slots: JobSlots,
    private readonly ends: JobEndWriter,
    private readonly consoles: JobConsoleStore,
    cluster: CurrentCluster,
    @Inject(JOB_EXECUTOR) private readonly executor: JobExecutor,
  ) {
    this.cluster = cluster.name;
    this.logger = new Logger(`scheduler@${this.cluster}`);
  }

  /**
   * Claims a ready job and, if this replica got it, runs it (not awaited). The slot is taken
   * before the first await, so the caller's check that a slot is free still holds.
   */
  async start(found: JobWithParents): Promise<void> {
    const { job, parents } = found;
    const controller = this.slots.hold(job.id); // hold the slot while claiming
    const started = await this.transitions.start(job.id, this.cluster, this.lease.id).catch((error: Error) => {
      this.slots.release(job.id);
      throw error;
    });
    if (!started) {
      this.slots.release(job.id); // another replica took it, or it was aborted
      return;
    }
    void this.execute(started, parents, found.source.required, controller);
  }

  /**
   * Follows the running jobs of this cluster that no live scheduler holds — left by one that
   * stopped or died — when the executor's jobs outlive the scheduler (pods): they are adopted
   * (one conditional UPDATE, so one replica gets each) and followed to their end, not failed.
   * Called at start and on every orphan-recovery tick.
   */
  async reattachRunning(): Promise<void> {
    const reattach = this.executor.reattach?.bind(this.executor);
    if (!reattach || this.slots.stopping) return;
    const adopted = await this.executions.adoptOrphanedRunning(this.cluster, this.lease.id);
    for (const job of adopted) {
      if (this.slots.holds(job.id)) continue;
      const controller = this.slots.adopt(job.id);
      void withLogFields({ jobId: job.id, buildId: job.buildId }, () =>
        this.follow(job, controller, (context) => reattach(job, { ...context, parents: [], hasSource: false, launch: () => true })),
      );
    }
    if (adopted.length > 0) this.logger.log(`re-attached to ${adopted.length} running job(s): ${adopted.map((j) => j.id).join(', ')}`);
  }

  private async execute(job: Job, parents: ParentLink[], hasSource: boolean, controller: AbortController): Promise<void> {
    // Every line logged while the job runs names it, wherever its run was started from.
    await withLogFields({ jobId: job.id, buildId: job.buildId }, () =>
      this.follow(job, controller, (context) =>
        this.executor.run(job, {
          ...context,
          parents,
          hasSource,
          // Synchronously with the stopping check: a stop either sees the job launched or hands it back.
          launch: () => this.slots.launch(job.id),
        }),
      ),
    );
  }

  /** Runs (or follows) one job to its end and ends it with its outcome, console and output. */
  private async follow(
    job: Job,
    controller: AbortController,
    run: (context: Pick<ExecutionContext, 'env' | 'signal' | 'onOutput'>) => Promise<ExecutionResult>,
  ): Promise<void> {
    const timeoutSeconds = 'timeoutSeconds' in job.definition ? job.definition.timeoutSeconds : 3600;
    // Executors whose jobs outlive this process enforce the timeout themselves.
    const timer = this.executor.reattach ? null : setTimeout(() => controller.abort('timeout' satisfies AbortReason), timeoutSeconds * 1000);
    try {
      const console = this.consoles.open(job);
      const env = { INFRABOX_JOB_ID: job.id, INFRABOX_JOB_NAME: job.name, INFRABOX_BUILD_ID: job.buildId, INFRABOX_CLUSTER_NAME: this.cluster };
      const result = await run({ env, signal: controller.signal, onOutput: (text) => console.write(text) }).finally(() => console.close());
      if (result.handedBack) return await this.ends.handBack(job);
      if (result.detached) return;
      const reason = controller.signal.aborted ? (controller.signal.reason as AbortReason) : result.timedOut ? 'timeout' : null;
      const [state, fields] = outcome(result.exitCode, result.error, reason, timeoutSeconds);
      await this.ends.recordEnd(job, state, fields, result.output);
      this.logger.debug(`job ${job.id} '${job.name}' ${state}${fields.message ? `: ${fields.message}` : ''}`);
    } catch (error) {
      if (!this.slots.wasLaunched(job.id) && isConnectionFailure(error)) {
        // Nothing ran: a database away while the job was being prepared is no fault of the job.
        this.logger.warn(`job ${job.id} '${job.name}': preparing it failed, back to the queue: ${(error as Error).message}`);
        await this.ends.requeueUnlaunched(job).catch(() => undefined);
        return;
      }
      this.logger.error(`job ${job.id} '${job.name}': ${(error as Error).message}`);
      await this.ends.recordEnd(job, 'error', { message: (error as Error).message }).catch(() => undefined);
    } finally {
      if (timer) clearTimeout(timer);
      // Frees the slot and wakes the first job waiting for one.
      this.slots.end(job.id);
    }
  }
}
