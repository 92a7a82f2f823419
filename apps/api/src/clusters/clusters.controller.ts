import { Controller, Get } from '@nestjs/common';
import { Authenticated } from '@infrabox/auth';
import { ClusterDto, ReachabilityDto } from '@infrabox/contract';
import { ReadLane } from '../http/read-lane.interceptor';
import { ClustersService } from './clusters.service';

/** The clusters and how they reach each other: for every logged-in user and token of a project. */
@Controller('api/v1/clusters')
@Authenticated('user', 'project', 'admin')
@ReadLane()
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
