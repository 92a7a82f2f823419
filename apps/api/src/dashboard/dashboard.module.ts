import { Module } from '@nestjs/common';
import { ClustersModule } from '@infrabox/clusters';
import { JobsModule } from '@infrabox/jobs';
import { BuildsModule } from '../builds/builds.module';
import { loadDashboardAssets } from './dashboard-assets';
import { DASHBOARD_ASSETS, DashboardController } from './dashboard.controller';
import { DashboardService } from './dashboard.service';

/** Served by the master's api only (ApiModule adds it when the installation has no cluster name). */
@Module({
  imports: [ClustersModule, JobsModule, BuildsModule],
  controllers: [DashboardController],
  providers: [DashboardService, { provide: DASHBOARD_ASSETS, useFactory: () => loadDashboardAssets() }],
})
export class DashboardModule {}
