import { ForbiddenException, Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@infrabox/auth';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { PeerAccessRepository } from './peer-access.repository';

/** A peer's token opens only what that peer is moving (403 naming why otherwise). */
@Injectable()
export class PeerAccessPolicy {
  private readonly cluster: string;

  constructor(
    private readonly access: PeerAccessRepository,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
  }

  async mayFetchOutput(principal: Principal, jobId: string): Promise<void> {
    const peer = peerOf(principal);
    if (!(await this.access.needsOutput(peer.cluster, jobId))) {
      throw forbidden(`cluster '${peer.cluster}' runs no job that needs the output of job '${jobId}'`);
    }
  }

  async mayPushOutput(principal: Principal, jobId: string): Promise<void> {
    const peer = peerOf(principal);
    if (!(await this.access.holdsOutput(peer.cluster, jobId))) throw forbidden(`cluster '${peer.cluster}' holds no copy of the output of job '${jobId}'`);
    if (!(await this.access.needsOutput(this.cluster, jobId))) {
      throw forbidden(`cluster '${this.cluster}' runs no job that needs the output of job '${jobId}'`);
    }
  }

  async mayFetchSource(principal: Principal, buildId: string): Promise<void> {
    const peer = peerOf(principal);
    if (!(await this.access.needsSource(peer.cluster, buildId))) {
      throw forbidden(`cluster '${peer.cluster}' runs no job of build '${buildId}'`);
    }
  }

  async mayPushSource(principal: Principal, buildId: string): Promise<void> {
    const peer = peerOf(principal);
    if (!(await this.access.holdsSource(peer.cluster, buildId))) throw forbidden(`cluster '${peer.cluster}' holds no copy of the source of build '${buildId}'`);
    if (!(await this.access.needsSource(this.cluster, buildId))) throw forbidden(`cluster '${this.cluster}' runs no job of build '${buildId}'`);
  }
}

/** The peer cluster a (cluster-only) route was called by. */
function peerOf(principal: Principal): { cluster: string } {
  if (principal.kind !== 'cluster') throw forbidden(`only a cluster token moves outputs and sources between clusters, not a ${principal.kind} token`);
  return principal;
}

function forbidden(message: string): ForbiddenException {
  return new ForbiddenException({ statusCode: 403, message });
}
