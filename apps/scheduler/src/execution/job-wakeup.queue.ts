import { Injectable, Logger } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { JobExecutionRepository, JobRepository, JobTransitions, JobWithParents } from '@infrabox/jobs';
import { judgeReadiness } from './dependency-gate';
import { JobLifecycle } from './job-lifecycle.service';
import { AbortReason, JobSlots } from './job-slots.pool';

/** Jobs decided on together: read in one query, started in one group commit. */
const DECISION_BATCH = 64;

/**
 * The job state machine on one cluster: queued → running → finished | failure | error | killed,
 * or queued → skipped. (`scheduled` is for executors with a pending phase, such as a pod not yet
 * started; the process executor starts at once.) Every change is conditional on the current
 * state, so of several scheduler replicas exactly one moves a job, and its event commits with it.
 *
 * This queue takes the wake-ups (events, the sweep, freed slots) and decides on each queued job:
 * wait, skip, finish (a `wait` job), wait for a slot, or start it (JobLifecycle).
 */
@Injectable()
export class JobWakeupQueue {
  private readonly logger: Logger;
  private readonly cluster: string;
  /**
   * Jobs waiting for a decision, in arrival order, at most once each; with the job and its
   * parents when the caller already read them (they only move forward, so a stale read can
   * only make a job wait for the next wake-up, never run too early: the start is conditional).
   */
  private readonly pending = new Map<string, JobWithParents | null>();
  private pumping = false;

  constructor(
    private readonly jobs: JobRepository,
    private readonly executions: JobExecutionRepository,
    private readonly transitions: JobTransitions,
    private readonly slots: JobSlots,
    private readonly lifecycle: JobLifecycle,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
    this.logger = new Logger(`scheduler@${this.cluster}`);
    // A job's end frees its slot: the first waiting job takes it.
    slots.whenFreed(() => this.refillFromWaiting());
  }

  /** Whether a batch is being decided on (a shutdown waits for it). */
  get busy(): boolean {
    return this.pumping;
  }

  /**
   * Queues jobs for a decision and returns at once: an event handler never waits for a job.
   * Should this process die first, the jobs are still queued in the database and the periodic
   * sweep finds them.
   */
  enqueue(jobIds: Iterable<string>): void {
    if (this.slots.stopping) return;
    for (const id of jobIds) if (!this.pending.has(id)) this.pending.set(id, null);
    this.pump();
  }

  enqueueFound(found: Iterable<JobWithParents>): void {
    if (this.slots.stopping) return;
    for (const item of found) this.pending.set(item.job.id, item);
    this.pump();
  }

  /** Considers every queued job of this cluster whose parents have all ended. */
  async considerDecidable(): Promise<void> {
    if (this.slots.stopping) return;
    this.enqueue((await this.executions.findDecidableOn(this.cluster)).map((job) => job.id));
  }

  /** Stops a job this process holds; a job still queued on this cluster ends `killed`. */
  async abort(jobId: string): Promise<void> {
    const controller = this.slots.controllerOf(jobId);
    if (controller) {
      controller.abort('abort' satisfies AbortReason);
      return;
    }
    const job = await this.jobs.findById(jobId);
    if (job && job.cluster === this.cluster) await this.transitions.end(job.id, ['queued'], 'killed', { message: 'aborted' });
  }

  /** Shutdown: the wake-ups not yet decided on are dropped (the jobs stay queued in the database). */
  clear(): void {
    this.pending.clear();
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
   * free a slot calls it — a job's end (JobSlots.end), but also a claim that came back empty
   * (after each batch) — so no waiting job is left behind while slots stand idle.
   */
  private refillFromWaiting(): void {
    for (const found of this.slots.takeWaiting()) this.pending.set(found.job.id, found);
    if (this.pending.size > 0) this.pump();
  }

  /** Wait, skip, finish (a `wait` job) or start. */
  private async decide(found: JobWithParents | null): Promise<void> {
    if (this.slots.stopping) return;
    if (!found || found.job.state !== 'queued' || found.job.cluster !== this.cluster) return;
    if (this.slots.holds(found.job.id)) return; // this process holds it already
    const { job } = found;
    const verdict = judgeReadiness(found);
    if (verdict.kind === 'wait') return;
    if (verdict.kind === 'skip') {
      await this.transitions.end(job.id, ['queued'], 'skipped', { message: verdict.message });
      return;
    }
    if (job.type === 'wait') {
      await this.transitions.end(job.id, ['queued'], 'finished', { message: 'all dependencies ended' });
      return;
    }
    if (this.slots.full) {
      this.slots.waitForSlot(found);
      return;
    }
    // No await between the check above and the slot the claim takes (synchronously, in start).
    await this.lifecycle.start(found);
  }
}
