import { Controller, Get } from '@nestjs/common';
import { ClusterDto, ReachabilityDto } from '@infrabox/clusters';
import { ClustersService } from './clusters.service';

@Controller('api/v1/clusters')
export class ClustersController {
  constructor(private readonly clusters: ClustersService) {}

  @Get()
  list(): Promise<ClusterDto[]> {
    return this.clusters.list();
  }

  /** Declared before any `:name` route would be, so "reachability" is never read as a name. */
  @Get('reachability')
  reachability(): Promise<ReachabilityDto[]> {
    return this.clusters.reachabilityMatrix();
  }
}
