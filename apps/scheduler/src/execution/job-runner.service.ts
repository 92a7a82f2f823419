import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { PgEventClient } from '@infrabox/events';
import {
  FinalJobState,
  Job,
  JOB_CONSOLE,
  JobConsoleEvent,
  JobConsoleRepository,
  JobRepository,
  JobTransitions,
  JobWithParents,
  ParentLink,
  TransitionFields,
} from '@infrabox/jobs';
import { SCHEDULER_OPTIONS, SchedulerOptions } from '../scheduler.options';
import { ConsoleWriter } from './console-writer';
import { judgeDependencies } from './dependency-gate';
import { JOB_EXECUTOR, JobExecutor } from './job-executor';

type AbortReason = 'timeout' | 'abort' | 'shutdown';

/** Jobs being decided on at once; decisions are a few short queries each. */
const DECISION_CONCURRENCY = 8;

/**
 * The job state machine on one cluster: queued → running → finished | failure | error | killed,
 * or queued → skipped. (`scheduled` is for executors with a pending phase, such as a pod not yet
 * started; the process executor starts at once.) Every change is conditional on the current
 * state, so of several scheduler replicas exactly one moves a job, and its event commits with it.
 */
@Injectable()
export class JobRunner implements OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly running = new Map<string, AbortController>();
  private readonly cluster: string;
  /**
   * Jobs waiting for a decision, in arrival order, at most once each; with the job and its
   * parents when the caller already read them (they only move forward, so a stale read can
   * only make a job wait for the next wake-up, never run too early: the start is conditional).
   */
  private readonly pending = new Map<string, JobWithParents | null>();
  private deciding = 0;
  /** Set when a ready job was left queued for want of a slot; the next free slot looks again. */
  private starved = false;

  constructor(
    private readonly db: Database,
    private readonly jobs: JobRepository,
    private readonly transitions: JobTransitions,
    private readonly consoles: JobConsoleRepository,
    private readonly events: PgEventClient,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    @Inject(SCHEDULER_OPTIONS) private readonly options: SchedulerOptions,
    @Inject(JOB_EXECUTOR) private readonly executor: JobExecutor,
  ) {
    this.cluster = config.cluster.name;
    this.logger = new Logger(`scheduler@${this.cluster}`);
  }

  /**
   * Queues jobs for a decision and returns at once: an event handler never waits for a job.
   * Should this process die first, the jobs are still queued in the database and the periodic
   * sweep finds them.
   */
  enqueue(jobIds: Iterable<string>): void {
    for (const id of jobIds) if (!this.pending.has(id)) this.pending.set(id, null);
    this.pump();
  }

  enqueueFound(found: Iterable<JobWithParents>): void {
    for (const item of found) this.pending.set(item.job.id, item);
    this.pump();
  }

  /** Considers every queued job of this cluster whose parents have all ended. */
  async considerDecidable(): Promise<void> {
    this.enqueue((await this.jobs.findDecidableOn(this.cluster)).map((job) => job.id));
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

  async onApplicationShutdown(): Promise<void> {
    this.pending.clear();
    for (const controller of this.running.values()) controller.abort('shutdown' satisfies AbortReason);
    while (this.running.size > 0 || this.deciding > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private pump(): void {
    while (this.deciding < DECISION_CONCURRENCY && this.pending.size > 0) {
      const [jobId, found] = this.pending.entries().next().value as [string, JobWithParents | null];
      this.pending.delete(jobId);
      this.deciding++;
      this.decide(jobId, found)
        .catch((error: Error) => this.logger.warn(`job ${jobId}: decision failed, the sweep retries: ${error.message}`))
        .finally(() => {
          this.deciding--;
          this.pump();
        });
    }
  }

  /** Wait, skip, finish (a `wait` job) or start. */
  private async decide(jobId: string, prefetched: JobWithParents | null): Promise<void> {
    if (this.running.has(jobId)) return; // this process holds it already
    const found = prefetched ?? (await this.jobs.findWithParents(jobId));
    if (!found || found.job.state !== 'queued' || found.job.cluster !== this.cluster || this.running.has(jobId)) return;
    const { job, parents } = found;
    const verdict = judgeDependencies(parents);
    if (verdict.kind === 'wait') return;
    if (verdict.kind === 'skip') {
      await this.transitions.end(job.id, ['queued'], 'skipped', { message: verdict.message });
      return;
    }
    if (job.type === 'wait') {
      await this.transitions.end(job.id, ['queued'], 'finished', { message: 'all dependencies ended' });
      return;
    }
    if (this.running.size >= this.options.maxParallelJobs) {
      this.starved = true;
      return;
    }
    const controller = new AbortController();
    this.running.set(job.id, controller); // hold the slot while claiming
    const started = await this.transitions.start(job.id, this.cluster).catch((error: Error) => {
      this.running.delete(job.id);
      throw error;
    });
    if (!started) {
      this.running.delete(job.id); // another replica took it, or it was aborted
      return;
    }
    void this.execute(started, parents, controller);
  }

  private async execute(job: Job, parents: ParentLink[], controller: AbortController): Promise<void> {
    const timeoutSeconds = 'timeoutSeconds' in job.definition ? job.definition.timeoutSeconds : 3600;
    const timer = setTimeout(() => controller.abort('timeout' satisfies AbortReason), timeoutSeconds * 1000);
    try {
      const dirs = await this.prepareFolders(job, parents);
      const console = new ConsoleWriter((text) => this.storeConsole(job.id, text));
      const result = await this.executor.run(job, {
        ...dirs,
        env: {
          INFRABOX_JOB_ID: job.id,
          INFRABOX_JOB_NAME: job.name,
          INFRABOX_BUILD_ID: job.buildId,
          INFRABOX_CLUSTER_NAME: this.cluster,
          INFRABOX_OUTPUT: dirs.outputDir,
          INFRABOX_INPUTS: dirs.inputsDir,
        },
        signal: controller.signal,
        onOutput: (text) => console.write(text),
      });
      await console.close();
      const reason = controller.signal.aborted ? (controller.signal.reason as AbortReason) : null;
      const [state, fields] = outcome(result.exitCode, result.error, reason, timeoutSeconds);
      await this.transitions.end(job.id, ['running'], state, fields);
      this.logger.debug(`job ${job.id} '${job.name}' ${state}${fields.message ? `: ${fields.message}` : ''}`);
    } catch (error) {
      this.logger.error(`job ${job.id} '${job.name}': ${(error as Error).message}`);
      await this.transitions.end(job.id, ['running'], 'error', { message: (error as Error).message }).catch(() => undefined);
    } finally {
      clearTimeout(timer);
      this.running.delete(job.id);
      if (this.starved) {
        this.starved = false;
        void this.considerDecidable().catch(() => undefined);
      }
    }
  }

  private async prepareFolders(job: Job, parents: ParentLink[]) {
    const root = path.join(this.options.workRoot, job.id);
    const dirs = { workDir: path.join(root, 'work'), outputDir: path.join(root, 'output'), inputsDir: path.join(root, 'inputs') };
    await Promise.all(Object.values(dirs).map((dir) => mkdir(dir, { recursive: true })));
    await Promise.all(parents.map((p) => mkdir(path.join(dirs.inputsDir, p.parentName), { recursive: true })));
    return dirs;
  }

  private async storeConsole(jobId: string, text: string): Promise<void> {
    await this.db.transaction(async () => {
      const seq = await this.consoles.append(jobId, text);
      const event: JobConsoleEvent = { jobId, seq };
      await lastValueFrom(this.events.emit(JOB_CONSOLE, event));
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
  if (error) return ['error', { message: error }];
  if (exitCode === 0) return ['finished', { exitCode }];
  return ['failure', { message: `exit code ${exitCode}`, exitCode }];
}
