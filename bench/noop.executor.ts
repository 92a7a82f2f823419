import { Injectable } from '@nestjs/common';
import { ExecutionResult, JobExecutor } from '../apps/scheduler/src/execution/job-executor';

/** Runs nothing and succeeds: what is left to measure is the scheduling itself. */
@Injectable()
export class NoopExecutor implements JobExecutor {
  async run(): Promise<ExecutionResult> {
    return { exitCode: 0 };
  }
}
