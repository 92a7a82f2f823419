import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { haOf, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { Database, isConnectionFailure } from '@infrabox/database';
import { PgEventClient } from '@infrabox/events';
import { withLogFields } from '@infrabox/observability';
import {
  FinalJobState,
  Job,
  JOB_CONSOLE,
  JobConsoleEvent,
  JobConsoleRepository,
  JobExecutionRepository,
  JobOutput,
  JobRepository,
  JobTransitions,
  JobWithParents,
  ParentLink,
  TransitionFields,
} from '@infrabox/jobs';
import { SCHEDULER_OPTIONS, SchedulerOptions } from '../scheduler.options';
import { RunnerLease } from '../recovery/runner-lease.service';
import { ConsoleWriter } from './console-writer';
import { judgeDependencies } from './dependency-gate';
import { ExecutionContext, ExecutionResult, JOB_EXECUTOR, JobExecutor } from './job-executor';

type AbortReason = 'timeout' | 'abort' | 'shutdown';

/** Jobs decided on together: read in one query, started in one group commit. */
const DECISION_BATCH = 64;
/** Backoff while a job's end cannot be written. */
const END_RETRY_BASE_MS = 100;
const END_RETRY_MAX_MS = 2_000;

/**
 * The job state machine on one cluster: queued → running → finished | failure | error | killed,
 * or queued → skipped. (`scheduled` is for executors with a pending phase, such as a pod not yet
 * started; the process executor starts at once.) Every change is conditional on the current
 * state, so of several scheduler replicas exactly one moves a job, and its event commits with it.
 */
@Injectable()
export class JobRunner implements OnModuleDestroy, OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly running = new Map<string, AbortController>();
  private readonly cluster: string;
  /**
   * Jobs waiting for a decision, in arrival order, at most once each; with the job and its
   * parents when the caller already read them (they only move forward, so a stale read can
   * only make a job wait for the next wake-up, never run too early: the start is conditional).
   */
  private readonly pending = new Map<string, JobWithParents | null>();
  private pumping = false;
  /** Ready jobs left queued for want of a slot, in arrival order; a freed slot takes the first. */
  private readonly waitingForSlot = new Map<string, JobWithParents>();
  /** Jobs whose command was handed to the executor: from then on a job may have run. */
  private readonly launched = new Set<string>();
  /** Set on shutdown: nothing new is decided or launched, claims not yet launched go back to the queue. */
  private stopping = false;
  private readonly shutdownGraceMs: number;

  constructor(
    private readonly db: Database,
    private readonly jobs: JobRepository,
    private readonly executions: JobExecutionRepository,
    private readonly transitions: JobTransitions,
    private readonly consoles: JobConsoleRepository,
    private readonly events: PgEventClient,
    private readonly lease: RunnerLease,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    @Inject(SCHEDULER_OPTIONS) private readonly options: SchedulerOptions,
    @Inject(JOB_EXECUTOR) private readonly executor: JobExecutor,
  ) {
    this.cluster = config.cluster.name;
    this.shutdownGraceMs = haOf(config).shutdownGraceMs;
    this.logger = new Logger(`scheduler@${this.cluster}`);
  }

  /**
   * Queues jobs for a decision and returns at once: an event handler never waits for a job.
   * Should this process die first, the jobs are still queued in the database and the periodic
   * sweep finds them.
   */
  enqueue(jobIds: Iterable<string>): void {
    if (this.stopping) return;
    for (const id of jobIds) if (!this.pending.has(id)) this.pending.set(id, null);
    this.pump();
  }

  enqueueFound(found: Iterable<JobWithParents>): void {
    if (this.stopping) return;
    for (const item of found) this.pending.set(item.job.id, item);
    this.pump();
  }

  /** Considers every queued job of this cluster whose parents have all ended. */
  async considerDecidable(): Promise<void> {
    if (this.stopping) return;
    this.enqueue((await this.executions.findDecidableOn(this.cluster)).map((job) => job.id));
  }

  async abort(jobId: string): Promise<void> {
    const controller = this.running.get(jobId);
    if (controller) {
      controller.abort('abort' satisfies AbortReason);
      return;
    }
    const job = await this.jobs.findById(jobId);
    if (job && job.cluster === this.cluster) await this.transitions.end(job.id, ['queued'], 'killed', { message: 'aborted' });
  }

  /** First step of a shutdown (before the event transport closes): take nothing new. */
  onModuleDestroy(): void {
    this.stopping = true;
    this.pending.clear();
    this.waitingForSlot.clear();
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
    if (this.running.size > 0 && remote) this.logger.log(`stopping: ${this.running.size} running job(s) go on without this scheduler`);
    else if (this.running.size > 0) this.logger.log(`stopping: ${this.launched.size} running job(s) get ${this.shutdownGraceMs / 1000} s to finish`);
    while ((this.running.size > 0 || this.pumping) && Date.now() < deadline) await sleep(50);
    if (this.running.size > 0 && !remote) this.logger.warn(`stopping: ${this.running.size} job(s) still running after the grace period are stopped`);
    for (const controller of this.running.values()) controller.abort('shutdown' satisfies AbortReason);
    while (this.running.size > 0 || this.pumping) await sleep(50);
    await this.lease.release();
  }

  /**
   * Decides on pending jobs a batch at a time: the jobs not yet read are read in one query, and
   * the batch's starts gather into one group commit.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.drainPending().finally(() => {
      this.pumping = false;
      if (this.pending.size > 0) this.pump();
    });
  }

  private async drainPending(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = [...this.pending.entries()].slice(0, DECISION_BATCH);
      for (const [jobId] of batch) this.pending.delete(jobId);
      const unread = batch.filter(([, found]) => !found).map(([jobId]) => jobId);
      const read = new Map<string, JobWithParents>();
      try {
        if (unread.length > 0) for (const found of await this.executions.findManyWithParents(unread)) read.set(found.job.id, found);
      } catch (error) {
        this.logger.warn(`reading ${unread.length} job(s) failed, the sweep retries: ${(error as Error).message}`);
        continue;
      }
      await Promise.all(
        batch.map(([jobId, found]) =>
          this.decide(found ?? read.get(jobId) ?? null).catch((error: Error) =>
            this.logger.warn(`job ${jobId}: decision failed, the sweep retries: ${error.message}`),
          ),
        ),
      );
      // A claim another replica won, or a job already started, leaves its slot free.
      this.refillFromWaiting();
    }
  }

  /**
   * Moves as many waiting jobs as there are free slots back to a decision. Every path that may
   * free a slot calls it — a job's end, but also a claim that came back empty — so no waiting
   * job is left behind while slots stand idle.
   */
  private refillFromWaiting(): void {
    let free = this.options.maxParallelJobs - this.running.size;
    for (const [jobId, found] of this.waitingForSlot) {
      if (free-- <= 0) break;
      this.waitingForSlot.delete(jobId);
      this.pending.set(jobId, found);
    }
    if (this.pending.size > 0) this.pump();
  }

  /** Wait, skip, finish (a `wait` job) or start. */
  private async decide(found: JobWithParents | null): Promise<void> {
    if (this.stopping) return;
    if (!found || found.job.state !== 'queued' || found.job.cluster !== this.cluster) return;
    if (this.running.has(found.job.id)) return; // this process holds it already
    const { job, parents } = found;
    const verdict = judgeDependencies(parents);
    if (verdict.kind === 'wait') return;
    if (verdict.kind === 'skip') {
      await this.transitions.end(job.id, ['queued'], 'skipped', { message: verdict.message });
      return;
    }
    // A parent's output still on another cluster: job.inputs.ready wakes the job once it is here.
    if (parents.some((p) => (p.outputSize ?? 0) > 0 && !p.outputHere)) return;
    // The image a parent built not yet in this cluster's registry: job.inputs.ready wakes the job once it is.
    if (parents.some((p) => p.imageWanted && !p.imageHere)) return;
    // The build's source not yet on this cluster: build.source.ready wakes the job once it is here.
    if (found.source.required && !found.source.here) return;
    if (job.type === 'wait') {
      await this.transitions.end(job.id, ['queued'], 'finished', { message: 'all dependencies ended' });
      return;
    }
    if (this.running.size >= this.options.maxParallelJobs) {
      this.waitingForSlot.set(found.job.id, found);
      return;
    }
    const controller = new AbortController();
    this.running.set(job.id, controller); // hold the slot while claiming
    const started = await this.transitions.start(job.id, this.cluster, this.lease.id).catch((error: Error) => {
      this.running.delete(job.id);
      throw error;
    });
    if (!started) {
      this.running.delete(job.id); // another replica took it, or it was aborted
      return;
    }
    void this.execute(started, parents, found.source.required, controller);
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
          launch: () => {
            if (this.stopping) return false;
            this.launched.add(job.id);
            return true;
          },
        }),
      ),
    );
  }

  /**
   * Follows the running jobs of this cluster that no live scheduler holds — left by one that
   * stopped or died — when the executor's jobs outlive the scheduler (pods): they are adopted
   * (one conditional UPDATE, so one replica gets each) and followed to their end, not failed.
   * Called at start and on every orphan-recovery tick.
   */
  async reattachRunning(): Promise<void> {
    const reattach = this.executor.reattach?.bind(this.executor);
    if (!reattach || this.stopping) return;
    const adopted = await this.executions.adoptOrphanedRunning(this.cluster, this.lease.id);
    for (const job of adopted) {
      if (this.running.has(job.id)) continue;
      const controller = new AbortController();
      this.running.set(job.id, controller);
      this.launched.add(job.id);
      void withLogFields({ jobId: job.id, buildId: job.buildId }, () =>
        this.follow(job, controller, (context) => reattach(job, { ...context, parents: [], hasSource: false, launch: () => true })),
      );
    }
    if (adopted.length > 0) this.logger.log(`re-attached to ${adopted.length} running job(s): ${adopted.map((j) => j.id).join(', ')}`);
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
      const console = new ConsoleWriter((text) => this.storeConsole(job.id, text), {
        onFailedWrite: (error, bytes) =>
          this.logger.error(`job ${job.id} '${job.name}': ${bytes} bytes of console output could not be stored: ${(error as Error).message}`),
      });
      const env = { INFRABOX_JOB_ID: job.id, INFRABOX_JOB_NAME: job.name, INFRABOX_BUILD_ID: job.buildId, INFRABOX_CLUSTER_NAME: this.cluster };
      const result = await run({ env, signal: controller.signal, onOutput: (text) => console.write(text) }).finally(() => console.close());
      if (result.handedBack) return await this.handBack(job);
      if (result.detached) return;
      const reason = controller.signal.aborted ? (controller.signal.reason as AbortReason) : result.timedOut ? 'timeout' : null;
      const [state, fields] = outcome(result.exitCode, result.error, reason, timeoutSeconds);
      await this.recordEnd(job, state, fields, result.output);
      this.logger.debug(`job ${job.id} '${job.name}' ${state}${fields.message ? `: ${fields.message}` : ''}`);
    } catch (error) {
      if (!this.launched.has(job.id) && isConnectionFailure(error)) {
        // Nothing ran: a database away while the job was being prepared is no fault of the job.
        this.logger.warn(`job ${job.id} '${job.name}': preparing it failed, back to the queue: ${(error as Error).message}`);
        await this.untilWritten(job, 'the hand-back', () => this.transitions.requeue([job.id], this.lease.id)).catch(() => undefined);
        return;
      }
      this.logger.error(`job ${job.id} '${job.name}': ${(error as Error).message}`);
      await this.recordEnd(job, 'error', { message: (error as Error).message }).catch(() => undefined);
    } finally {
      if (timer) clearTimeout(timer);
      this.running.delete(job.id);
      this.launched.delete(job.id);
      this.refillFromWaiting();
    }
  }

  /**
   * Writes a job's end. The job has run, so its outcome must not be dropped because the database
   * is briefly away (a restart, a failover): while it is unreachable, try again until the end is
   * written, or until this process stops (then the job is left `running`, to the recovery of orphaned jobs). A retry
   * after a commit whose answer was lost finds the job ended already, and stops.
   */
  private async recordEnd(job: Job, state: FinalJobState, fields: TransitionFields, output?: JobOutput): Promise<void> {
    await this.untilWritten(job, `recording '${state}'`, () => this.transitions.end(job.id, ['running'], state, fields, output));
  }

  /** Repeats a write about a job while the database is unreachable, until it succeeds or this process stops. */
  private async untilWritten(job: Job, what: string, write: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch (error) {
        if (this.stopping || !isConnectionFailure(error)) throw error;
        const delay = Math.min(END_RETRY_MAX_MS, END_RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 10));
        this.logger.warn(`job ${job.id} '${job.name}': ${what} failed, retry ${attempt} in ${delay} ms: ${(error as Error).message}`);
        await sleep(delay);
      }
    }
  }

  /** A claimed job this stopping process never launched: back to the queue, for another scheduler. */
  private async handBack(job: Job): Promise<void> {
    const [requeued] = await this.transitions.requeue([job.id], this.lease.id);
    if (requeued) this.logger.log(`job ${job.id} '${job.name}' handed back to the queue (scheduler stopping)`);
  }

  private async storeConsole(jobId: string, text: string): Promise<void> {
    await this.db.transaction(async () => {
      const seq = await this.consoles.append(jobId, text);
      const event: JobConsoleEvent = { jobId, seq };
      await this.events.emit(JOB_CONSOLE, event);
    });
  }
}

function outcome(
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
