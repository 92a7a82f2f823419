import { Inject, Injectable, Logger } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { ClusterReachabilityRepository, ClusterRepository } from '@infrabox/clusters';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { BUILD_SOURCE_READY, BuildSource, BuildSourceReadyEvent, BuildSourceRepository, sourceKey } from '@infrabox/jobs';
import { formatBytes, PeerDownloadClient } from '../transfer/peer-download.client';

/**
 * Brings a build's source to this cluster when one of the build's jobs is placed here: fetched
 * (pull only) from a cluster holding a copy, verified, stored, recorded and announced with
 * `build.source.ready` in one transaction. Clusters that run none of the build's jobs never fetch.
 */
@Injectable()
export class SourceTransferService {
  private readonly logger: Logger;
  private readonly cluster: string;
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly sources: BuildSourceRepository,
    private readonly clusters: ClusterRepository,
    private readonly reachability: ClusterReachabilityRepository,
    private readonly events: PgEventClient,
    private readonly peers: PeerDownloadClient,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
    this.logger = new Logger(`forwarder@${this.cluster}`);
  }

  /** Builds with a job queued here whose source is not here yet. */
  neededHere(): Promise<string[]> {
    return this.sources.neededOn(this.cluster);
  }

  /** Fetches the build's source unless this cluster holds it; a second call joins the first. */
  fetch(buildId: string): Promise<void> {
    const running = this.inFlight.get(buildId);
    if (running) return running;
    const promise = this.doFetch(buildId).finally(() => this.inFlight.delete(buildId));
    this.inFlight.set(buildId, promise);
    return promise;
  }

  private async doFetch(buildId: string): Promise<void> {
    const copies = await this.sources.findAll(buildId);
    if (copies.length === 0 || copies.some((c) => c.cluster === this.cluster)) return; // no source, or here already
    const started = Date.now();
    let from: BuildSource | undefined;
    await this.peers.withRetries(`fetch of build ${buildId}'s source`, async () => {
      from = await this.pickSource(copies);
      const peer = await this.clusters.findByName(from.cluster);
      if (!peer) throw new Error(`cluster '${from.cluster}' is not registered`);
      const key = sourceKey(buildId);
      await this.peers.download(
        {
          url: `${peer.apiUrl}/api/v1/peer/builds/${buildId}/source`,
          from: from.cluster,
          size: from.size,
          sha256: from.sha256,
          what: `build ${buildId}'s source`,
        },
        key,
      );
      await this.record({ buildId, cluster: this.cluster, storageKey: key, size: from.size, sha256: from.sha256 });
    });
    const seconds = (Date.now() - started) / 1000;
    this.logger.log(`build ${buildId}: fetched its source (${formatBytes(from!.size)}) from ${from!.cluster} in ${seconds.toFixed(2)} s`);
  }

  /** The oldest copy on a cluster not known to be unreachable from here (else the oldest). */
  private async pickSource(copies: BuildSource[]): Promise<BuildSource> {
    for (const copy of copies) {
      if ((await this.reachability.find(this.cluster, copy.cluster))?.reachable !== false) return copy;
    }
    return copies[0];
  }

  private async record(copy: BuildSource): Promise<void> {
    await this.db.transaction(async () => {
      if (!(await this.sources.record(copy))) return;
      const event: BuildSourceReadyEvent = { buildId: copy.buildId, cluster: copy.cluster };
      await lastValueFrom(this.events.emit(BUILD_SOURCE_READY, forCluster(copy.cluster, event)));
    });
  }
}
