import { Controller, Inject, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { PeriodicTask } from '@infrabox/app-runtime';
import { OnEvent } from '@infrabox/events';
import { CurrentCluster } from '@infrabox/config';
import {
  BUILD_SOURCE_READY,
  BuildSourceReadyEvent,
  JOB_ABORT_REQUESTED,
  JOB_FINISHED,
  JOB_INPUTS_READY,
  JOB_PLACED,
  JobAbortRequestedEvent,
  JobFinishedEvent,
  JobInputsReadyEvent,
  JobPlacedEvent,
  JobExecutionRepository,
} from '@infrabox/jobs';
import { SCHEDULER_OPTIONS, SchedulerOptions } from '../scheduler.options';
import { JobLifecycle } from './job-lifecycle.service';
import { JobWakeupQueue } from './job-wakeup.queue';

/** Wakes the job state machine of this cluster on the events that can make a job runnable. */
@Controller()
export class ExecutionHandlers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly sweep: PeriodicTask;
  private readonly logger = new Logger('scheduler');

  constructor(
    private readonly queue: JobWakeupQueue,
    private readonly lifecycle: JobLifecycle,
    private readonly jobs: JobExecutionRepository,
    private readonly cluster: CurrentCluster,
    @Inject(SCHEDULER_OPTIONS) options: SchedulerOptions,
  ) {
    this.sweep = new PeriodicTask('queued-job sweep', options.sweepIntervalMs, () => this.queue.considerDecidable(), new Logger('scheduler'));
  }

  @OnEvent(JOB_PLACED)
  onPlaced(@Payload() event: JobPlacedEvent): void {
    this.queue.enqueue([event.jobId]);
  }

  /** A parent ended: its children on this cluster may now run, or be skipped. */
  @OnEvent(JOB_FINISHED)
  async onFinished(@Payload() event: JobFinishedEvent): Promise<void> {
    const cluster = this.cluster.name;
    if (!event.childClusters?.includes(cluster)) return;
    this.queue.enqueueFound(await this.jobs.queuedChildrenWithParents(event.jobId, cluster));
  }

  /** A parent's output arrived on this cluster: children that waited for it may run. */
  @OnEvent(JOB_INPUTS_READY)
  async onInputsReady(@Payload() event: JobInputsReadyEvent): Promise<void> {
    this.queue.enqueueFound(await this.jobs.queuedChildrenWithParents(event.jobId, this.cluster.name));
  }

  /** The build's source arrived on this cluster: the build's jobs that waited for it may run. */
  @OnEvent(BUILD_SOURCE_READY)
  async onSourceReady(@Payload() event: BuildSourceReadyEvent): Promise<void> {
    const cluster = this.cluster.name;
    if (event.cluster !== cluster) return;
    this.queue.enqueueFound(await this.jobs.queuedOfBuildWithParents(event.buildId, cluster));
  }

  @OnEvent(JOB_ABORT_REQUESTED)
  async onAbortRequested(@Payload() event: JobAbortRequestedEvent): Promise<void> {
    await this.queue.abort(event.jobId);
  }

  onApplicationBootstrap(): void {
    this.lifecycle.reattachRunning().catch((error: Error) => this.logger.error(`re-attaching to running jobs failed: ${error.message}`));
    this.sweep.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweep.stop();
  }
}
