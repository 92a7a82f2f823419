import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A log outside the database of which scheduler ran which job: each job's command appends
 * `<job id> <scheduler pid>` (`record`), so a test can tell a job that ran twice, or on whom.
 */
export class RunsLog {
  readonly file: string;

  constructor(name: string) {
    this.file = path.join(tmpdir(), `infrabox-runs-${name}.log`);
  }

  /** The shell line a job runs first: the job's parent process is the scheduler that spawned it. */
  get record(): string {
    return `echo "$INFRABOX_JOB_ID $PPID" >> ${this.file}`;
  }

  /** Job id → pids of the schedulers that spawned it, one entry per run. */
  async runs(): Promise<Map<string, number[]>> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    const byJob = new Map<string, number[]>();
    for (const line of text.split('\n').filter(Boolean)) {
      const [jobId, pid] = line.split(' ');
      byJob.set(jobId, [...(byJob.get(jobId) ?? []), Number(pid)]);
    }
    return byJob;
  }

  remove(): Promise<void> {
    return rm(this.file, { force: true });
  }
}
