import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { JOB_FINISHED, JOB_PLACED, JOB_STARTED, JobFinishedEvent, JobPlacedEvent, JobStartedEvent } from './job.events';
import { ArtifactCopyRepository } from './artifact-copy.repository';
import { JobOutput, outputCopy } from './artifact-copy.types';
import { JobTransitionRepository, TransitionFields } from './job-transition.repository';
import { FinalJobState, Job, JobState } from './job.types';

type TransitionRequest =
  | { kind: 'start'; jobId: string; cluster: string; runnerId: string | null }
  | { kind: 'end'; jobId: string; from: readonly JobState[]; state: FinalJobState; fields: TransitionFields; output?: JobOutput };

interface Queued {
  request: TransitionRequest;
  resolve(job: Job | null): void;
  reject(error: unknown): void;
}

/** Changes written in one transaction at most; more wait for the next one. */
const MAX_BATCH = 64;

/**
 * The job state changes that others react to, each with its event in one transaction. A change
 * is conditional on the current state: of several callers racing, exactly one gets the job back.
 *
 * Changes made outside a transaction are group-committed: while one batch commits, the next
 * gathers, so an idle scheduler commits a change at once and a busy one commits many at once.
 * PostgreSQL serialises commits that NOTIFY through one lock; fewer, larger commits are what
 * lets the job rate grow past the notifying-commit rate.
 */
@Injectable()
export class JobTransitions {
  private readonly queue: Queued[] = [];
  private committing = false;

  constructor(
    private readonly db: Database,
    private readonly jobs: JobTransitionRepository,
    private readonly copies: ArtifactCopyRepository,
    private readonly events: PgEventClient,
  ) {}

  /**
   * Claims a queued job and marks it running on `cluster`, held by `runnerId` (the scheduler
   * process, see SchedulerRunnerRepository); null if someone else got it first.
   */
  start(jobId: string, cluster: string, runnerId: string | null = null): Promise<Job | null> {
    return this.submit({ kind: 'start', jobId, cluster, runnerId });
  }

  /**
   * Hands jobs a runner claimed but never launched back to the queue, announcing each with
   * `job.placed` on its cluster so that another scheduler there takes it at once.
   */
  async requeue(jobIds: readonly string[], runnerId: string): Promise<Job[]> {
    return this.db.transaction(async () => {
      const jobs = await this.jobs.requeueMany(jobIds, runnerId);
      const events: JobPlacedEvent[] = jobs.map((job) => ({ jobId: job.id, buildId: job.buildId, cluster: job.cluster! }));
      if (events.length > 0) await this.events.emitBatch(JOB_PLACED, events.map((event) => forCluster(event.cluster, event)));
      return jobs;
    });
  }

  /** Ends a job; `output` (its stored output folder) is recorded in the same transaction. */
  end(jobId: string, from: readonly JobState[], state: FinalJobState, fields: TransitionFields = {}, output?: JobOutput): Promise<Job | null> {
    return this.submit({ kind: 'end', jobId, from, state, fields, output });
  }

  private submit(request: TransitionRequest): Promise<Job | null> {
    // Inside the caller's transaction the change must commit (or not) with it.
    if (this.db.inTransaction) return this.applyAll([request]).then(([job]) => job);
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.commitNext();
    });
  }

  private commitNext(): void {
    if (this.committing || this.queue.length === 0) return;
    this.committing = true;
    const batch = this.queue.splice(0, MAX_BATCH);
    this.db
      .transaction(() => this.applyAll(batch.map((b) => b.request)))
      .then(
        (jobs) => batch.forEach((b, i) => b.resolve(jobs[i])),
        (error) => batch.forEach((b) => b.reject(error)),
      )
      .finally(() => {
        this.committing = false;
        this.commitNext();
      });
  }

  /** Runs in one transaction: the starts in one statement, the ends in another, then their events. */
  private async applyAll(requests: readonly TransitionRequest[]): Promise<Array<Job | null>> {
    const starts = requests.filter((r) => r.kind === 'start');
    const ends = requests.filter((r) => r.kind === 'end');
    const started: Job[] = [];
    for (const group of groupBy(starts, (r) => `${r.cluster}\u0000${r.runnerId ?? ''}`).values()) {
      started.push(...(await this.jobs.startMany(group.map((r) => r.jobId), group[0].cluster, group[0].runnerId)));
    }
    const ended = ends.length > 0 ? await this.jobs.endMany(ends.map((r) => ({ jobId: r.jobId, from: r.from, state: r.state, ...r.fields }))) : [];

    const outputOf = new Map(ends.filter((r) => r.output).map((r) => [r.jobId, r.output!]));
    await this.copies.recordMany('output', ended.map(({ job }) => outputOf.get(job.id)).filter((o): o is JobOutput => o !== undefined).map(outputCopy));

    const clusterOf = new Map(starts.map((r) => [r.jobId, r.cluster]));
    const startedEvents: JobStartedEvent[] = started.map((job) => ({ jobId: job.id, buildId: job.buildId, cluster: clusterOf.get(job.id)! }));
    const finishedEvents: JobFinishedEvent[] = ended.map(({ job, queuedChildClusters }) => ({
      jobId: job.id,
      buildId: job.buildId,
      cluster: job.cluster,
      state: job.state as FinalJobState,
      childClusters: queuedChildClusters,
    }));
    if (startedEvents.length > 0) await this.events.emitBatch(JOB_STARTED, startedEvents);
    if (finishedEvents.length > 0) await this.events.emitBatch(JOB_FINISHED, finishedEvents);

    // A job asked for twice in one batch moved once: only the first asker gets it.
    const moved = new Map<string, Job>([...started.map((j) => [j.id, j] as const), ...ended.map(({ job }) => [job.id, job] as const)]);
    return requests.map((r) => {
      const job = moved.get(r.jobId) ?? null;
      moved.delete(r.jobId);
      return job;
    });
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
