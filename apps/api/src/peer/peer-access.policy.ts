import { ForbiddenException, Injectable } from '@nestjs/common';
import type { Principal } from '@infrabox/auth';
import { CurrentCluster } from '@infrabox/config';
import { ArtifactCopyRepository, ArtifactKind, describeArtifact } from '@infrabox/jobs';
import { PeerAccessRepository } from './peer-access.repository';

/** What a job of a cluster must be to need an artifact, for refusals: "that needs the output of job '…'". */
const NEEDING: Readonly<Record<ArtifactKind, (id: string) => string>> = {
  output: (jobId) => `that needs the output of job '${jobId}'`,
  source: (buildId) => `of build '${buildId}'`,
};

/** A peer's token opens only what that peer is moving (403 naming why otherwise). */
@Injectable()
export class PeerAccessPolicy {
  private readonly cluster: string;

  constructor(
    private readonly access: PeerAccessRepository,
    private readonly copies: ArtifactCopyRepository,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
  }

  /** A pull: the peer runs a job that needs the artifact. */
  async mayFetch(kind: ArtifactKind, principal: Principal, id: string): Promise<void> {
    await this.assertNeeds(kind, peerOf(principal).cluster, id);
  }

  /** A push: the peer holds a copy, and a job here needs it. */
  async mayPush(kind: ArtifactKind, principal: Principal, id: string): Promise<void> {
    const peer = peerOf(principal);
    if (!(await this.copies.find(kind, id, peer.cluster))) throw forbidden(`cluster '${peer.cluster}' holds no copy of the ${describeArtifact(kind, id)}`);
    await this.assertNeeds(kind, this.cluster, id);
  }

  private async assertNeeds(kind: ArtifactKind, cluster: string, id: string): Promise<void> {
    if (!(await this.access.needs(kind, cluster, id))) throw forbidden(`cluster '${cluster}' runs no job ${NEEDING[kind](id)}`);
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
