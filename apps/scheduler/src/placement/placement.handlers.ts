import { Controller, Inject, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { PeriodicTask } from '@infrabox/app-runtime';
import { CLUSTER_LOST, CLUSTER_UPDATED, ClusterLostEvent, ClusterUpdatedEvent } from '@infrabox/clusters';
import { OnEvent } from '@infrabox/events';
import { BUILD_CREATED, BuildCreatedEvent } from '@infrabox/jobs';
import { SCHEDULER_OPTIONS, SchedulerOptions } from '../scheduler.options';
import { PlacementService } from './placement.service';

@Controller()
export class PlacementHandlers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly sweep: PeriodicTask;

  constructor(
    private readonly placement: PlacementService,
    @Inject(SCHEDULER_OPTIONS) options: SchedulerOptions,
  ) {
    this.sweep = new PeriodicTask(
      'unplaced-build sweep',
      options.sweepIntervalMs,
      () => this.placement.placeForgottenBuilds(options.unplacedAfterSeconds),
      new Logger('placement'),
    );
  }

  @OnEvent(BUILD_CREATED)
  async onBuildCreated(@Payload() event: BuildCreatedEvent): Promise<void> {
    await this.placement.placeBuild(event.buildId);
  }

  @OnEvent(CLUSTER_LOST)
  async onClusterLost(@Payload() event: ClusterLostEvent): Promise<void> {
    await this.placement.rehomeQueuedOf(event.cluster);
  }

  @OnEvent(CLUSTER_UPDATED)
  async onClusterUpdated(@Payload() event: ClusterUpdatedEvent): Promise<void> {
    if (event.enabled === false) await this.placement.rehomeQueuedOf(event.cluster);
  }

  onApplicationBootstrap(): void {
    this.sweep.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sweep.stop();
  }
}
