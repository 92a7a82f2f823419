import type { Job, JobOutput, ParentLink } from '@infrabox/jobs';

/** What the runner hands an executor for one job. */
export interface ExecutionContext {
  /** The job's direct parents, whose outputs are its inputs (`inputs/<parent name>`). */
  parents: ParentLink[];
  /** Whether the job's build has a source (staged into the job's `context` folder). */
  hasSource: boolean;
  /**
   * The job's identity (INFRABOX_JOB_ID, INFRABOX_BUILD_ID, …). Each executor adds the job's own
   * `environment` and the folder variables of the folders its job sees (`sandboxEnvironment`).
   */
  env: Record<string, string>;
  /**
   * Aborted on timeout (executors whose jobs end with the scheduler), on an abort request, or
   * when the scheduler shuts down; the executor stops the job — or, for a job that outlives the
   * scheduler, lets go of it.
   */
  signal: AbortSignal;
  onOutput(text: string): void;
  /**
   * Called once the job is staged in, right before its command starts: from then on the job may
   * have run. False when the scheduler is stopping: the executor then starts nothing, cleans up
   * and answers `{ handedBack: true }`, and the runner puts the job back in the queue.
   */
  launch(): boolean;
}

export interface ExecutionResult {
  exitCode: number | null;
  /** Set when the job could not run or end properly (bad image, missing binary, output not stored). */
  error?: string;
  /** The executor's own deadline (the job's timeout) ended the job. */
  timedOut?: boolean;
  /** The job's stored output (none when the job left none, or nothing ran). */
  output?: JobOutput;
  /** The scheduler shut down and the job goes on without it: its state is left as it is. */
  detached?: boolean;
  /** `launch()` said no: nothing ran. */
  handedBack?: boolean;
}

/**
 * Runs one job to its end: stages it in, runs it, stages its output out and cleans up — all
 * through the job-sandbox contract (`@infrabox/job-sandbox`; executors whose folders are on this
 * host share `HostSandbox`). The runner knows nothing of where a job's folders are.
 */
export interface JobExecutor {
  run(job: Job, context: ExecutionContext): Promise<ExecutionResult>;
  /**
   * Follows a job that was started before this process (it is `running` on this cluster) to its
   * end. Executors whose jobs outlive the scheduler (pods) implement it; they also enforce the
   * job's timeout themselves, where the runner does it for the others.
   */
  reattach?(job: Job, context: ExecutionContext): Promise<ExecutionResult>;
  /**
   * Removes what is left of jobs whose scheduler died and that orphan recovery ended in error:
   * their containers (which go on without the process that started them) and host folders.
   */
  abandon?(jobIds: readonly string[]): Promise<void>;
}

export const JOB_EXECUTOR = Symbol('JOB_EXECUTOR');
