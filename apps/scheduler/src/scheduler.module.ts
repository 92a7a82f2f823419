import { DynamicModule, Module, Type } from '@nestjs/common';
import { AuthModule, TokenService } from '@infrabox/auth';
import { ClustersModule } from '@infrabox/clusters';
import { INSTALL_CONFIG, InstallConfig, InstallConfigModule } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';
import { BuildRepository, JobConsoleRepository, JobImageRepository, JobsModule, ProjectRepository } from '@infrabox/jobs';
import { ObservabilityModule } from '@infrabox/observability';
import { StorageModule } from '@infrabox/storage';
import { ExecutionHandlers } from './execution/execution.handlers';
import { JOB_EXECUTOR, JobExecutor } from './execution/job-executor';
import { JobConsoleStore } from './execution/job-console.store';
import { JobEndWriter } from './execution/job-end.writer';
import { JobLifecycle } from './execution/job-lifecycle.service';
import { JobSlots } from './execution/job-slots.pool';
import { JobWakeupQueue } from './execution/job-wakeup.queue';
import { RunnerShutdown } from './execution/runner-shutdown.service';
import { HostSandbox } from './job-files/host-sandbox.service';
import { JobFilesService } from './job-files/job-files.service';
import { ProcessExecutor } from './execution/process.executor';
import { createContainerExecutor } from './container/container-executor.factory';
import type { KubernetesExecutorDependencies } from './kubernetes/kubernetes.executor';
import { PlacementHandlers } from './placement/placement.handlers';
import { PlacementMetrics } from './placement/placement.metrics';
import { PlacementService } from './placement/placement.service';
import { OrphanRecovery } from './recovery/orphan-recovery.service';
import { RunnerLease } from './recovery/runner-lease.service';
import { defaultSchedulerOptions, SCHEDULER_OPTIONS, SchedulerOptions } from './scheduler.options';

@Module({})
export class SchedulerModule {
  /**
   * The executor is the config's (`scheduler.executor`: container — the loader's default where
   * an engine answers —, process — for configs built in code without a scheduler section — or kubernetes);
   * `executor` replaces it (benchmarks run no-op jobs; tests may inject one).
   */
  static forConfig(config: InstallConfig, overrides: Partial<SchedulerOptions> = {}, executor?: Type<JobExecutor>): DynamicModule {
    const kubernetes = executor === undefined && config.scheduler?.executor === 'kubernetes' ? config.scheduler.kubernetes : null;
    const container = executor === undefined && config.scheduler?.executor === 'container';
    return {
      module: SchedulerModule,
      imports: [
        InstallConfigModule.forRoot(config),
        DatabaseModule,
        EventsModule.forRoot({ app: 'scheduler' }),
        ObservabilityModule.forApp({ app: 'scheduler' }),
        ClustersModule,
        JobsModule,
        StorageModule,
        ...(kubernetes || container ? [AuthModule] : []),
      ],
      controllers: [PlacementHandlers, ExecutionHandlers],
      providers: [
        { provide: SCHEDULER_OPTIONS, useValue: { ...defaultSchedulerOptions(config), ...overrides } },
        ...(kubernetes
          ? [
              {
                provide: JOB_EXECUTOR,
                inject: [TokenService, BuildRepository, ProjectRepository, JobConsoleRepository, JobImageRepository, INSTALL_CONFIG],
                // Loaded only when chosen: the Kubernetes client is large.
                useFactory: async (...deps: KubernetesExecutorDependencies) => (await import('./kubernetes/kubernetes.executor')).createKubernetesExecutor(...deps),
              },
            ]
          : container
            ? [{ provide: JOB_EXECUTOR, inject: [HostSandbox, INSTALL_CONFIG, BuildRepository, ProjectRepository, JobImageRepository, TokenService], useFactory: createContainerExecutor }]
            : [{ provide: JOB_EXECUTOR, useClass: executor ?? ProcessExecutor }]),
        PlacementService,
        PlacementMetrics,
        JobSlots,
        JobWakeupQueue,
        JobLifecycle,
        JobEndWriter,
        JobConsoleStore,
        RunnerShutdown,
        JobFilesService,
        HostSandbox,
        RunnerLease,
        OrphanRecovery,
      ],
    };
  }
}
