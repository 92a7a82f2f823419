import { Injectable } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { Database } from '@infrabox/database';
import { PgEventClient } from '@infrabox/events';
import { JOB_FINISHED, JOB_STARTED, JobFinishedEvent, JobStartedEvent } from './job.events';
import { JobRepository, TransitionFields } from './job.repository';
import { FinalJobState, Job, JobState } from './job.types';

/**
 * The job state changes that others react to, each with its event in one transaction. A change
 * is conditional on the current state: of several callers racing, exactly one gets the job back.
 */
@Injectable()
export class JobTransitions {
  constructor(
    private readonly db: Database,
    private readonly jobs: JobRepository,
    private readonly events: PgEventClient,
  ) {}

  /** Claims a queued job and marks it running on `cluster`; null if someone else got it first. */
  async start(jobId: string, cluster: string): Promise<Job | null> {
    return this.db.transaction(async () => {
      const job = await this.jobs.transition(jobId, ['queued'], 'running');
      if (!job) return null;
      const event: JobStartedEvent = { jobId, buildId: job.buildId, cluster };
      await lastValueFrom(this.events.emit(JOB_STARTED, event));
      return job;
    });
  }

  async end(jobId: string, from: readonly JobState[], state: FinalJobState, fields: TransitionFields = {}): Promise<Job | null> {
    return this.db.transaction(async () => {
      const moved = await this.jobs.transitionReturningChildren(jobId, from, state, fields);
      if (!moved) return null;
      const { job, queuedChildClusters } = moved;
      const event: JobFinishedEvent = { jobId, buildId: job.buildId, cluster: job.cluster, state, childClusters: queuedChildClusters };
      await lastValueFrom(this.events.emit(JOB_FINISHED, event));
      return job;
    });
  }
}
