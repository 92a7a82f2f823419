import { Controller, DynamicModule, Injectable, Module } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Registry } from 'prom-client';
import { ClustersModule } from '@infrabox/clusters';
import { CurrentCluster, InstallConfig, InstallConfigModule } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule, OnEvent } from '@infrabox/events';
import { JOB_PLACED, JobPlacedEvent, JobsModule } from '@infrabox/jobs';
import { RegistrationService } from '../../apps/registry/src/registration/registration.service';
import { DEFAULT_REGISTRY_OPTIONS, REGISTRY_OPTIONS } from '../../apps/registry/src/registry.options';
import { PlacementHandlers } from '../../apps/scheduler/src/placement/placement.handlers';
import { PlacementMetrics } from '../../apps/scheduler/src/placement/placement.metrics';
import { PlacementService } from '../../apps/scheduler/src/placement/placement.service';
import { defaultSchedulerOptions, SCHEDULER_OPTIONS } from '../../apps/scheduler/src/scheduler.options';

/** What one simulated cluster's scheduler was told to run. */
@Injectable()
export class PlacedJobs {
  readonly jobIds: string[] = [];
  lastAt = 0;
  /** job.placed events that named another cluster than the one they were delivered to. */
  misdelivered = 0;
}

/** Stands in for the executor side: takes note of each job.placed delivered to this cluster. */
@Controller()
class PlacedJobsHandler {
  constructor(
    private readonly placed: PlacedJobs,
    private readonly cluster: CurrentCluster,
  ) {}

  @OnEvent(JOB_PLACED)
  onJobPlaced(@Payload() event: JobPlacedEvent): void {
    if (event.cluster !== this.cluster.name) this.placed.misdelivered++;
    this.placed.jobIds.push(event.jobId);
    this.placed.lastAt = Date.now();
  }
}

/**
 * One simulated cluster as one app process would hold it: the registry's real registration and
 * heartbeat, the scheduler's real placement (handlers, service, policy) and the real event
 * transport, on one pool and one LISTEN connection. Only execution is left out: placed jobs
 * are counted, not run.
 */
@Module({})
export class SimulatedClusterModule {
  static forConfig(config: InstallConfig): DynamicModule {
    return {
      module: SimulatedClusterModule,
      imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: 'scheduler' }), ClustersModule, JobsModule],
      controllers: [PlacementHandlers, PlacedJobsHandler],
      providers: [
        { provide: SCHEDULER_OPTIONS, useValue: defaultSchedulerOptions(config) },
        { provide: REGISTRY_OPTIONS, useValue: DEFAULT_REGISTRY_OPTIONS },
        // The placement's metrics on a registry of the app's own (no /metrics is served here).
        { provide: Registry, useFactory: () => new Registry() },
        PlacementMetrics,
        PlacementService,
        RegistrationService,
        PlacedJobs,
      ],
    };
  }
}
