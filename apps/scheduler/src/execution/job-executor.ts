import type { Job, JobOutput, ParentLink } from '@infrabox/jobs';

export interface ExecutionContext {
  /** Folder the job's command runs in. */
  workDir: string;
  /** Folder the job writes its output into (`INFRABOX_OUTPUT`). */
  outputDir: string;
  /** Folder with one sub-folder per parent (`INFRABOX_INPUTS`). */
  inputsDir: string;
  env: Record<string, string>;
  /** The job's direct parents, whose outputs are its inputs. */
  parents: ParentLink[];
  /** Whether the job's build has a source (unpacked into `workDir`). */
  hasSource: boolean;
  /**
   * Aborted on timeout (local executors), on an abort request, or when the scheduler shuts
   * down; the executor stops the job — or, for a job that outlives the scheduler, lets go of it.
   */
  signal: AbortSignal;
  onOutput(text: string): void;
}

export interface ExecutionResult {
  exitCode: number | null;
  /** Set when the job could not run at all (bad command, missing binary). */
  error?: string;
  /** The executor's own deadline (the job's timeout) ended the job. */
  timedOut?: boolean;
  /** The output as the job stored it itself (remote executors); the runner records it. */
  output?: JobOutput;
  /** The scheduler shut down and the job goes on without it: its state is left as it is. */
  detached?: boolean;
}

/** Runs one job to its end. The process executor is the local default. */
export interface JobExecutor {
  /**
   * Set by executors whose jobs run elsewhere (a pod): the job's folders as the job sees them.
   * The job fetches its inputs and stores its output itself, with its job token, and the
   * executor enforces the timeout; the runner then prepares no local folders.
   */
  readonly remoteFolders?: { workDir: string; outputDir: string; inputsDir: string };
  run(job: Job, context: ExecutionContext): Promise<ExecutionResult>;
  /**
   * Follows a job that was started before this process (it is `running` on this cluster) to
   * its end; executors whose jobs outlive the scheduler implement it.
   */
  reattach?(job: Job, context: ExecutionContext): Promise<ExecutionResult>;
}

export const JOB_EXECUTOR = Symbol('JOB_EXECUTOR');
