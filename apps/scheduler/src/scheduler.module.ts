import { DynamicModule, Module, Type } from '@nestjs/common';
import { ClustersModule } from '@infrabox/clusters';
import { InstallConfig, InstallConfigModule } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';
import { JobsModule } from '@infrabox/jobs';
import { ObservabilityModule } from '@infrabox/observability';
import { StorageModule } from '@infrabox/storage';
import { ExecutionHandlers } from './execution/execution.handlers';
import { JOB_EXECUTOR, JobExecutor } from './execution/job-executor';
import { JobRunner } from './execution/job-runner.service';
import { JobFilesService } from './job-files/job-files.service';
import { ProcessExecutor } from './execution/process.executor';
import { PlacementHandlers } from './placement/placement.handlers';
import { PlacementService } from './placement/placement.service';
import { OrphanRecovery } from './recovery/orphan-recovery.service';
import { RunnerLease } from './recovery/runner-lease.service';
import { defaultSchedulerOptions, SCHEDULER_OPTIONS, SchedulerOptions } from './scheduler.options';

@Module({})
export class SchedulerModule {
  /** `executor` replaces the process executor (benchmarks run no-op jobs; tests may inject one). */
  static forConfig(config: InstallConfig, overrides: Partial<SchedulerOptions> = {}, executor: Type<JobExecutor> = ProcessExecutor): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: 'scheduler' }), ObservabilityModule.forApp({ app: 'scheduler' }), ClustersModule, JobsModule, StorageModule],
      controllers: [PlacementHandlers, ExecutionHandlers],
      providers: [
        { provide: SCHEDULER_OPTIONS, useValue: { ...defaultSchedulerOptions(config), ...overrides } },
        { provide: JOB_EXECUTOR, useClass: executor },
        PlacementService,
        JobRunner,
        JobFilesService,
        RunnerLease,
        OrphanRecovery,
      ],
    };
  }
}
