import path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { sandboxFolders, SandboxFolders, SandboxStaging } from '@infrabox/job-sandbox';
import type { Job } from '@infrabox/jobs';
import type { ExecutionContext, ExecutionResult } from '../execution/job-executor';
import { SCHEDULER_OPTIONS, SchedulerOptions } from '../scheduler.options';
import { JobFilesService } from './job-files.service';

/**
 * The sandbox of a job whose folders are on this host (the process and container executors):
 * one folder per job under the work root, staged in before the job starts, its output stored
 * when it ends, and deleted then — also when the job failed, was aborted or never launched.
 */
@Injectable()
export class HostSandbox {
  constructor(
    private readonly files: JobFilesService,
    @Inject(SCHEDULER_OPTIONS) private readonly options: SchedulerOptions,
  ) {}

  /** Where a job's folders are on this host. */
  foldersOf(jobId: string): SandboxFolders {
    return sandboxFolders(path.join(this.options.workRoot, jobId));
  }

  /** Deletes a job's folders on this host (those of a job whose scheduler died). */
  async remove(jobId: string): Promise<void> {
    await new SandboxStaging(this.foldersOf(jobId)).remove();
  }

  /**
   * Stages the job in, lets `start` run it in its folders (unless the scheduler is stopping),
   * stores its output and removes its folders. A failure to store the output is the job's error.
   */
  async run(job: Job, context: ExecutionContext, start: (folders: SandboxFolders) => Promise<ExecutionResult>): Promise<ExecutionResult> {
    const staging = new SandboxStaging(this.foldersOf(job.id));
    try {
      await staging.create();
      await this.files.stageInputs(staging, context.parents);
      if (context.hasSource) await this.files.stageSource(staging, job.buildId);
      if (!context.launch()) return { exitCode: null, handedBack: true };
      const result = await start(staging.folders);
      if (result.handedBack || result.detached) return result;
      try {
        return { ...result, output: await this.files.storeOutput(job.id, staging) };
      } catch (error) {
        return { ...result, error: `storing the output failed: ${(error as Error).message}` };
      }
    } finally {
      await staging.remove();
    }
  }
}
