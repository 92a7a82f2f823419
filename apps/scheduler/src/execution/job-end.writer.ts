import { Injectable, Logger } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { isConnectionFailure } from '@infrabox/database';
import { FinalJobState, Job, JobOutput, JobTransitions, TransitionFields } from '@infrabox/jobs';
import { retry } from '@infrabox/toolkit';
import { RunnerLease } from '../recovery/runner-lease.service';
import { AbortReason, JobSlots } from './job-slots.pool';

/** Backoff while a job's end cannot be written. */
const END_RETRY_BASE_MS = 100;
const END_RETRY_MAX_MS = 2_000;

/** Writes how a job this process held left it: its end, or its hand-back to the queue. */
@Injectable()
export class JobEndWriter {
  private readonly logger: Logger;

  constructor(
    private readonly transitions: JobTransitions,
    private readonly lease: RunnerLease,
    private readonly slots: JobSlots,
    cluster: CurrentCluster,
  ) {
    this.logger = new Logger(`scheduler@${cluster.name}`);
  }

  /**
   * Writes a job's end. The job has run, so its outcome must not be dropped because the database
   * is briefly away (a restart, a failover): while it is unreachable, try again until the end is
   * written, or until this process stops (then the job is left `running`, to the recovery of orphaned jobs). A retry
   * after a commit whose answer was lost finds the job ended already, and stops.
   */
  async recordEnd(job: Job, state: FinalJobState, fields: TransitionFields, output?: JobOutput): Promise<void> {
    await this.untilWritten(job, `recording '${state}'`, () => this.transitions.end(job.id, ['running'], state, fields, output));
  }

  /** A claimed job whose preparing failed with the database away (nothing ran): back to the queue, retried like an end. */
  async requeueUnlaunched(job: Job): Promise<void> {
    await this.untilWritten(job, 'the hand-back', () => this.transitions.requeue([job.id], this.lease.id));
  }

  /** A claimed job this stopping process never launched: back to the queue, for another scheduler. */
  async handBack(job: Job): Promise<void> {
    const [requeued] = await this.transitions.requeue([job.id], this.lease.id);
    if (requeued) this.logger.log(`job ${job.id} '${job.name}' handed back to the queue (scheduler stopping)`);
  }

  /** Repeats a write about a job while the database is unreachable, until it succeeds or this process stops. */
  private async untilWritten(job: Job, what: string, write: () => Promise<unknown>): Promise<void> {
    await retry(write, {
      attempts: Infinity,
      baseMs: END_RETRY_BASE_MS,
      maxMs: END_RETRY_MAX_MS,
      retryable: (error) => !this.slots.stopping && isConnectionFailure(error),
      onRetry: (error, attempt, delay) =>
        this.logger.warn(`job ${job.id} '${job.name}': ${what} failed, retry ${attempt} in ${delay} ms: ${(error as Error).message}`),
    });
  }
}

/** A job's final state from how its run ended: an abort's reason first, then the executor's error, then the exit code. */
export function outcome(
  exitCode: number | null,
  error: string | undefined,
  reason: AbortReason | null,
  timeoutSeconds: number,
): [FinalJobState, TransitionFields] {
  if (reason === 'timeout') return ['error', { message: `timed out after ${timeoutSeconds} s`, exitCode }];
  if (reason === 'abort') return ['killed', { message: 'aborted', exitCode }];
  if (reason === 'shutdown') return ['error', { message: 'the scheduler shut down while the job ran', exitCode }];
  if (error) return ['error', { message: error, exitCode }];
  if (exitCode === 0) return ['finished', { exitCode }];
  return ['failure', { message: `exit code ${exitCode}`, exitCode }];
}
