import { Injectable } from '@nestjs/common';
import { ClusterReachabilityRepository } from '@infrabox/clusters';
import { CurrentCluster } from '@infrabox/config';

/**
 * Which way bytes move between this cluster and a peer, from the recorded reachability: pull
 * unless known to be cut off from the peer; push only when the peer is known not to reach us
 * and we are not known to be cut off from it. Shared by output and source transfers.
 */
@Injectable()
export class TransferRoutes {
  private readonly cluster: string;

  constructor(
    private readonly reachability: ClusterReachabilityRepository,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
  }

  /** Pull direction: unless `origin` is known to be unreachable from here. */
  mayPullFrom(origin: string): Promise<boolean> {
    return this.mayReach(this.cluster, origin);
  }

  /** Push direction: only when `target` cannot reach us, and we are not known to be cut off from it. */
  async shouldPushTo(target: string): Promise<boolean> {
    return !(await this.mayReach(target, this.cluster)) && (await this.mayReach(this.cluster, target));
  }

  /** Whether `from` may reach `to`: true unless a reachability row says it cannot. */
  async mayReach(from: string, to: string): Promise<boolean> {
    return (await this.reachability.find(from, to))?.reachable !== false;
  }
}
