import { Injectable, Logger } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { PgEventClient } from '@infrabox/events';
import { Job, JOB_CONSOLE, JobConsoleEvent, JobConsoleRepository } from '@infrabox/jobs';
import { ConsoleWriter } from './console-writer';

/** Where a running job's console goes: appended to `job_console`, each chunk with its `job.console` event. */
@Injectable()
export class JobConsoleStore {
  private readonly logger: Logger;

  constructor(
    private readonly db: Database,
    private readonly consoles: JobConsoleRepository,
    private readonly events: PgEventClient,
    cluster: CurrentCluster,
  ) {
    this.logger = new Logger(`scheduler@${cluster.name}`);
  }

  /** A console writer for one run of `job`; the caller closes it when the run ends. */
  open(job: Job): ConsoleWriter {
    return new ConsoleWriter((text) => this.store(job.id, text), {
      onFailedWrite: (error, bytes) =>
        this.logger.error(`job ${job.id} '${job.name}': ${bytes} bytes of console output could not be stored: ${(error as Error).message}`),
    });
  }

  private async store(jobId: string, text: string): Promise<void> {
    await this.db.transaction(async () => {
      const seq = await this.consoles.append(jobId, text);
      const event: JobConsoleEvent = { jobId, seq };
      await this.events.emit(JOB_CONSOLE, event);
    });
  }
}
