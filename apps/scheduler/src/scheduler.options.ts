import path from 'node:path';
import type { InstallConfig } from '@infrabox/config';

export interface SchedulerOptions {
  /** Jobs' work, output and input folders live under `<workRoot>/<job id>/`. */
  workRoot: string;
  /** Jobs this scheduler process runs at once; more wait queued. */
  maxParallelJobs: number;
  /** Safety net for lost wake-ups: how often queued jobs are looked at without an event. */
  sweepIntervalMs: number;
  /** A build whose jobs are still unplaced after this long is placed by the sweep. */
  unplacedAfterSeconds: number;
}

export const SCHEDULER_OPTIONS = Symbol('SCHEDULER_OPTIONS');

export function defaultSchedulerOptions(config: InstallConfig): SchedulerOptions {
  return {
    workRoot: path.resolve('.infrabox', 'work', config.cluster.name),
    maxParallelJobs: 16,
    sweepIntervalMs: 5_000,
    unplacedAfterSeconds: 5,
  };
}
