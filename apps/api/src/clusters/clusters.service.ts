import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { CLUSTER_NAME_PATTERN } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { PgEventClient } from '@infrabox/events';
import {
  CLUSTER_UPDATED,
  ClusterDto,
  ClusterReachabilityRepository,
  ClusterRepository,
  ClusterUpdatedEvent,
  ReachabilityDto,
  toClusterDto,
  toReachabilityDto,
} from '@infrabox/clusters';

@Injectable()
export class ClustersService {
  private readonly logger = new Logger('clusters');

  constructor(
    private readonly db: Database,
    private readonly clusters: ClusterRepository,
    private readonly reachability: ClusterReachabilityRepository,
    private readonly events: PgEventClient,
  ) {}

  async list(): Promise<ClusterDto[]> {
    return (await this.clusters.findAll()).map(toClusterDto);
  }

  async reachabilityMatrix(): Promise<ReachabilityDto[]> {
    return (await this.reachability.findAll()).map(toReachabilityDto);
  }

  /** Enables or disables a cluster; emits `cluster.updated` only when the value changed. */
  async setEnabled(name: string, enabled: boolean): Promise<ClusterDto> {
    if (!CLUSTER_NAME_PATTERN.test(name)) throw new BadRequestException('cluster: not a valid cluster name (a-z, 0-9 and -, at most 63)');
    const result = await this.db.transaction(async () => {
      const outcome = await this.clusters.setEnabled(name, enabled);
      if (outcome?.changed) {
        const event: ClusterUpdatedEvent = { cluster: name, enabled };
        await this.events.emit(CLUSTER_UPDATED, event);
      }
      return outcome;
    });
    if (!result) throw new NotFoundException(`cluster '${name}' not found`);
    if (result.changed) this.logger.log(`cluster '${name}' ${enabled ? 'enabled' : 'disabled'}`);
    return toClusterDto(result.cluster);
  }
}
