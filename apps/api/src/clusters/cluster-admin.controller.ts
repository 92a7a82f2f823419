import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ClusterDto } from '@infrabox/clusters';
import { ClustersService } from './clusters.service';

// TODO(auth): admin-only once authentication lands (later issue); open to every caller until then.
@Controller('api/v1/admin/clusters')
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
