import { Module } from '@nestjs/common';
import { ClustersModule } from '@infrabox/clusters';
import { ClusterAdminController } from './cluster-admin.controller';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';

/** HTTP for clusters: the list, the reachability matrix, and admin enable/disable. */
@Module({
  imports: [ClustersModule],
  controllers: [ClustersController, ClusterAdminController],
  providers: [ClustersService],
})
export class ClustersApiModule {}
