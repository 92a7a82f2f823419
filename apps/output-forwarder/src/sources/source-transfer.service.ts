import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClusterRepository } from '@infrabox/clusters';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { withLogFields } from '@infrabox/observability';
import { BuildSource, BuildSourceRepository, CopyRecorder, sourceKey } from '@infrabox/jobs';
import { formatBytes, PeerDownloadClient } from '../transfer/peer-download.client';
import { TransferClaims } from '../transfer/transfer-claims';
import { TransferMetrics } from '../transfer/transfer.metrics';
import { TransferRoutes } from '../transfer/transfer-routes';

/**
 * Brings a build's source to a cluster when one of the build's jobs is placed there. That
 * cluster fetches it (pull) from a holder it may reach; when it may reach none, a holder that
 * may reach it sends it (push). Either way the bytes are verified, stored, recorded and
 * announced with `build.source.ready` in one transaction. Clusters that run none of the
 * build's jobs never get it.
 */
@Injectable()
export class SourceTransferService {
  private readonly logger: Logger;
  private readonly cluster: string;

  constructor(
    private readonly sources: BuildSourceRepository,
    private readonly clusters: ClusterRepository,
    private readonly routes: TransferRoutes,
    private readonly recorder: CopyRecorder,
    private readonly peers: PeerDownloadClient,
    private readonly claims: TransferClaims,
    private readonly metrics: TransferMetrics,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
    this.logger = new Logger(`forwarder@${this.cluster}`);
  }

  /** Builds with a job queued here whose source is not here yet. */
  neededHere(): Promise<string[]> {
    return this.sources.neededOn(this.cluster);
  }

  /** (build, cluster) pairs where this cluster holds the source and the cluster, running a job of the build, does not. */
  neededFromHere(): Promise<Array<{ buildId: string; to: string }>> {
    return this.sources.neededFrom(this.cluster);
  }

  /** Fetches the build's source unless this cluster holds it; a second call joins the first, another replica's call returns. */
  fetch(buildId: string): Promise<void> {
    return withLogFields({ buildId }, () => this.claims.run(`source:${buildId}->${this.cluster}`, () => this.doFetch(buildId)));
  }

  /**
   * Sends the build's source to `to` when `to` may reach none of its holders and we may reach
   * it (else `to` pulls, or nobody can move it); a second call joins the first.
   */
  push(buildId: string, to: string): Promise<void> {
    return withLogFields({ buildId }, () => this.claims.run(`source:${buildId}->${to}`, () => this.doPush(buildId, to)));
  }

  private async doFetch(buildId: string): Promise<void> {
    const copies = await this.sources.findAll(buildId);
    if (copies.length === 0 || copies.some((c) => c.cluster === this.cluster)) return; // no source, or here already
    if (!(await this.pickSource(copies))) return; // no holder reachable from here: one of them pushes it
    const started = Date.now();
    let from: BuildSource | undefined;
    let fetched = false;
    await this.metrics.track('source', 'pull', async () => {
      let moved = 0;
      await this.peers.withRetries(`fetch of build ${buildId}'s source`, async () => {
        from = (await this.pickSource(await this.sources.findAll(buildId))) ?? copies[0];
        if (await this.sources.find(buildId, this.cluster)) return; // pushed here meanwhile
        const peer = await this.clusters.findByName(from.cluster);
        if (!peer) throw new Error(`cluster '${from.cluster}' is not registered`);
        const source = from;
        fetched = await this.peers.download(
          {
            url: `${peer.apiUrl}/api/v1/peer/builds/${buildId}/source`,
            from: source.cluster,
            size: source.size,
            sha256: source.sha256,
            what: `build ${buildId}'s source`,
          },
          sourceKey(this.cluster, buildId),
          (key) => this.recorder.recordSource({ buildId, cluster: this.cluster, storageKey: key, size: source.size, sha256: source.sha256 }),
        );
        moved += from.size;
      });
      return moved;
    });
    if (!fetched) return;
    const seconds = (Date.now() - started) / 1000;
    this.logger.log(`build ${buildId}: fetched its source (${formatBytes(from!.size)}) from ${from!.cluster} in ${seconds.toFixed(2)} s`);
  }

  private async doPush(buildId: string, to: string): Promise<void> {
    const copies = await this.sources.findAll(buildId);
    const here = copies.find((c) => c.cluster === this.cluster);
    if (!here || copies.some((c) => c.cluster === to)) return; // nothing to send, or there already
    if (!(await this.routes.shouldPushTo(to))) return;
    for (const copy of copies) if (copy.cluster !== this.cluster && (await this.routes.mayReach(to, copy.cluster))) return; // `to` pulls it
    const peer = await this.clusters.findByName(to);
    if (!peer) throw new Error(`cluster '${to}' is not registered`);
    const started = Date.now();
    await this.metrics.track('source', 'push', async () => {
      await this.peers.withRetries(`push of build ${buildId}'s source to ${to}`, () =>
        this.peers.upload({ url: `${peer.apiUrl}/api/v1/peer/builds/${buildId}/source`, to, size: here.size, what: `build ${buildId}'s source` }, here.storageKey),
      );
      return here.size;
    });
    const seconds = (Date.now() - started) / 1000;
    this.logger.log(`build ${buildId}: pushed its source (${formatBytes(here.size)}) to ${to} in ${seconds.toFixed(2)} s`);
  }

  /** The oldest copy on a cluster not known to be unreachable from here; null if every holder is. */
  private async pickSource(copies: BuildSource[]): Promise<BuildSource | null> {
    for (const copy of copies) if (await this.routes.mayPullFrom(copy.cluster)) return copy;
    return null;
  }
}
