import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { Authenticated } from '@infrabox/auth';
import { ClusterDto } from '@infrabox/contract';
import { ClustersService } from './clusters.service';

/** Admin only: taking a cluster out of placement (or back in) is an operator's decision. */
@Controller('api/v1/admin/clusters')
@Authenticated('admin')
export class ClusterAdminController {
  constructor(private readonly clusters: ClustersService) {}

  @Post(':name/enable')
  @HttpCode(200)
  enable(@Param('name') name: string): Promise<ClusterDto> {
    return this.clusters.setEnabled(name, true);
  }

  @Post(':name/disable')
  @HttpCode(200)
  disable(@Param('name') name: string): Promise<ClusterDto> {
    return this.clusters.setEnabled(name, false);
  }
}
