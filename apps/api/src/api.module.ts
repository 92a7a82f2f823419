import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuthModule } from '@infrabox/auth';
import { InstallConfig, InstallConfigModule } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';
import { ObservabilityModule } from '@infrabox/observability';
import { StorageModule } from '@infrabox/storage';
import { AccessModule } from './access/access.module';
import { AuthApiModule } from './auth/auth.module';
import { BuildsModule } from './builds/builds.module';
import { ClustersApiModule } from './clusters/clusters.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { EventsApiModule } from './events/events-api.module';
import { JobDataModule } from './job-data/job-data.module';
import { JobMetricsModule } from './metrics/job-metrics.module';
import { PeerModule } from './peer/peer.module';
import { RegistryApiModule } from './registry/registry.module';
import { SourcesModule } from './sources/sources.module';
import { AllExceptionsFilter } from './errors/all-exceptions.filter';
import { ContentTypeGuard } from './http/content-type.guard';

@Module({})
export class ApiModule {
  static forConfig(config: InstallConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [InstallConfigModule.forRoot(config), DatabaseModule, EventsModule.forRoot({ app: 'api' }), ObservabilityModule.forApp({ app: 'api' }), AuthModule, AccessModule, ClustersApiModule, BuildsModule, AuthApiModule, StorageModule, PeerModule, SourcesModule, JobDataModule, JobMetricsModule, EventsApiModule, RegistryApiModule, ...(config.cluster.isMaster ? [DashboardModule] : [])],
      providers: [
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_GUARD, useClass: ContentTypeGuard },
      ],
    };
  }
}
