import { Inject, Injectable } from '@nestjs/common';
import type { JobWithParents } from '@infrabox/jobs';
import { SCHEDULER_OPTIONS, SchedulerOptions } from '../scheduler.options';

/** Why a held job's controller was aborted. */
export type AbortReason = 'timeout' | 'abort' | 'shutdown';

/**
 * The job slots of this scheduler process (`maxParallelJobs`): the jobs it holds — from the
 * claim to the end —, the ready jobs waiting for a slot, and the stop that closes the pool.
 * Everything here changes synchronously, so a check and the change it guards never interleave
 * with another job's.
 */
@Injectable()
export class JobSlots {
  /** The jobs this process holds (claiming, running or followed), each with what stops it. */
  private readonly running = new Map<string, AbortController>();
  /** Ready jobs left queued for want of a slot, in arrival order; a freed slot takes the first. */
  private readonly waitingForSlot = new Map<string, JobWithParents>();
  /** Jobs whose command was handed to the executor: from then on a job may have run. */
  private readonly launched = new Set<string>();
  /** Set on shutdown: nothing new is decided or launched, claims not yet launched go back to the queue. */
  private stopped = false;
  private onFreed: () => void = () => undefined;

  constructor(@Inject(SCHEDULER_OPTIONS) private readonly options: SchedulerOptions) {}

  get stopping(): boolean {
    return this.stopped;
  }

  /** Jobs held (a claim in flight counts: it holds its slot). */
  get size(): number {
    return this.running.size;
  }

  get launchedCount(): number {
    return this.launched.size;
  }

  get full(): boolean {
    return this.running.size >= this.options.maxParallelJobs;
  }

  holds(jobId: string): boolean {
    return this.running.has(jobId);
  }

  controllerOf(jobId: string): AbortController | undefined {
    return this.running.get(jobId);
  }

  /** Takes a slot for a job about to be claimed; returns the controller that stops it. */
  hold(jobId: string): AbortController {
    const controller = new AbortController();
    this.running.set(jobId, controller);
    return controller;
  }

  /**
   * Gives back the slot of a claim that came back empty (another replica took the job, it was
   * aborted, or the claim failed). No refill here: the wake-up queue refills after its batch.
   */
  release(jobId: string): void {
    this.running.delete(jobId);
  }

  /** Holds a job that was started before this process and is followed to its end: launched already. */
  adopt(jobId: string): AbortController {
    const controller = this.hold(jobId);
    this.launched.add(jobId);
    return controller;
  }

  /** Synchronously with the stopping check: a stop either sees the job launched or hands it back. */
  launch(jobId: string): boolean {
    if (this.stopped) return false;
    this.launched.add(jobId);
    return true;
  }

  wasLaunched(jobId: string): boolean {
    return this.launched.has(jobId);
  }

  /** A held job ended (or was let go of): its slot is free, and a waiting job is woken for it. */
  end(jobId: string): void {
    this.running.delete(jobId);
    this.launched.delete(jobId);
    this.onFreed();
  }

  waitForSlot(found: JobWithParents): void {
    this.waitingForSlot.set(found.job.id, found);
  }

  /** Takes as many waiting jobs as there are free slots, first come first. */
  takeWaiting(): JobWithParents[] {
    let free = this.options.maxParallelJobs - this.running.size;
    const taken: JobWithParents[] = [];
    for (const [jobId, found] of this.waitingForSlot) {
      if (free-- <= 0) break;
      this.waitingForSlot.delete(jobId);
      taken.push(found);
    }
    return taken;
  }

  /** Called whenever a held job ends (the wake-up queue refills from the waiting jobs). */
  whenFreed(listener: () => void): void {
    this.onFreed = listener;
  }

  /** Shutdown: nothing new is launched, and the waiting jobs are left to the database's queue. */
  stop(): void {
    this.stopped = true;
    this.waitingForSlot.clear();
  }

  abortAll(reason: AbortReason): void {
    for (const controller of this.running.values()) controller.abort(reason);
  }
}
