import type { Job } from '@infrabox/jobs';

export interface ExecutionContext {
  /** Folder the job's command runs in. */
  workDir: string;
  /** Folder the job writes its output into (`INFRABOX_OUTPUT`). */
  outputDir: string;
  /** Folder with one sub-folder per parent (`INFRABOX_INPUTS`). */
  inputsDir: string;
  env: Record<string, string>;
  /** Aborted on timeout or on an abort request; the executor stops the job. */
  signal: AbortSignal;
  onOutput(text: string): void;
}

export interface ExecutionResult {
  exitCode: number | null;
  /** Set when the job could not run at all (bad command, missing binary). */
  error?: string;
}

/** Runs one job to its end. The process executor is the local default. */
export interface JobExecutor {
  run(job: Job, context: ExecutionContext): Promise<ExecutionResult>;
}

export const JOB_EXECUTOR = Symbol('JOB_EXECUTOR');
