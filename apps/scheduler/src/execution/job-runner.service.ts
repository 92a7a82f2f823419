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
  JOB_FINISHED,
  JOB_STARTED,
  JobConsoleEvent,
  JobConsoleRepository,
  JobFinishedEvent,
  JobRepository,
  JobStartedEvent,
  JobState,
  ParentLink,
  TransitionFields,
} from '@infrabox/jobs';
import { SCHEDULER_OPTIONS, SchedulerOptions } from '../scheduler.options';
import { ConsoleWriter } from './console-writer';
import { judgeDependencies } from './dependency-gate';
import { JOB_EXECUTOR, JobExecutor } from './job-executor';

type AbortReason = 'timeout' | 'abort' | 'shutdown';

/**
 * The job state machine on one cluster: queued → scheduled → running → finished | failure |
 * error | killed, or queued → skipped. Every transition is a conditional UPDATE, so of several
 * scheduler replicas exactly one moves a job, and its event commits with the change.
 */
@Injectable()
export class JobRunner implements OnApplicationShutdown {
  private readonly logger: Logger;
  private readonly running = new Map<string, AbortController>();
  private readonly cluster: string;

  constructor(
    private readonly db: Database,
    private readonly jobs: JobRepository,
    private readonly consoles: JobConsoleRepository,
    private readonly events: PgEventClient,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    @Inject(SCHEDULER_OPTIONS) private readonly options: SchedulerOptions,
    @Inject(JOB_EXECUTOR) private readonly executor: JobExecutor,
  ) {
    this.cluster = config.cluster.name;
    this.logger = new Logger(`scheduler@${this.cluster}`);
  }

  /** Decides on a job placed on this cluster: wait, skip, finish (a `wait` job) or start. */
  async consider(jobId: string): Promise<void> {
    const job = await this.jobs.findById(jobId);
    if (!job || job.state !== 'queued' || job.cluster !== this.cluster) return;
    const parents = await this.jobs.parentsOf(job.id);
    const verdict = judgeDependencies(parents);
    if (verdict.kind === 'wait') return;
    if (verdict.kind === 'skip') {
      await this.end(job, ['queued'], 'skipped', { message: verdict.message });
      return;
    }
    if (job.type === 'wait') {
      await this.end(job, ['queued'], 'finished', { message: 'all dependencies ended' });
      return;
    }
    if (this.running.size >= this.options.maxParallelJobs) return; // picked up again when a slot frees
    const claimed = await this.jobs.transition(job.id, ['queued'], 'scheduled');
    if (!claimed) return; // another replica took it, or it was aborted
    void this.execute(claimed, parents);
  }

  /** Considers every queued job of this cluster whose parents have all ended. */
  async considerDecidable(): Promise<void> {
    for (const job of await this.jobs.findDecidableOn(this.cluster)) await this.consider(job.id);
  }

  async abort(jobId: string): Promise<void> {
    const controller = this.running.get(jobId);
    if (controller) {
      controller.abort('abort' satisfies AbortReason);
      return;
    }
    const job = await this.jobs.findById(jobId);
    if (job && job.cluster === this.cluster) await this.end(job, ['queued'], 'killed', { message: 'aborted' });
  }

  async onApplicationShutdown(): Promise<void> {
    for (const controller of this.running.values()) controller.abort('shutdown' satisfies AbortReason);
    while (this.running.size > 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private async execute(job: Job, parents: ParentLink[]): Promise<void> {
    const controller = new AbortController();
    this.running.set(job.id, controller);
    const timeoutSeconds = 'timeoutSeconds' in job.definition ? job.definition.timeoutSeconds : 3600;
    const timer = setTimeout(() => controller.abort('timeout' satisfies AbortReason), timeoutSeconds * 1000);
    try {
      const dirs = await this.prepareFolders(job, parents);
      const started = await this.db.transaction(async () => {
        const row = await this.jobs.transition(job.id, ['scheduled'], 'running');
        if (row) {
          const event: JobStartedEvent = { jobId: job.id, buildId: job.buildId, cluster: this.cluster };
          await lastValueFrom(this.events.emit(JOB_STARTED, event));
        }
        return row;
      });
      if (!started) return;
      this.logger.log(`job ${job.id} '${job.name}' running`);
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
      await this.end(job, ['running'], state, fields);
      this.logger.log(`job ${job.id} '${job.name}' ${state}${fields.message ? `: ${fields.message}` : ''}`);
    } catch (error) {
      this.logger.error(`job ${job.id} '${job.name}': ${(error as Error).message}`);
      await this.end(job, ['scheduled', 'running'], 'error', { message: (error as Error).message }).catch(() => undefined);
    } finally {
      clearTimeout(timer);
      this.running.delete(job.id);
      void this.considerDecidable().catch(() => undefined);
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

  /** Moves the job to a final state and announces it, in one transaction. */
  private async end(job: Job, from: JobState[], state: FinalJobState, fields: TransitionFields): Promise<void> {
    await this.db.transaction(async () => {
      const row = await this.jobs.transition(job.id, from, state, fields);
      if (!row) return;
      const event: JobFinishedEvent = { jobId: job.id, buildId: job.buildId, cluster: row.cluster, state };
      await lastValueFrom(this.events.emit(JOB_FINISHED, event));
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
