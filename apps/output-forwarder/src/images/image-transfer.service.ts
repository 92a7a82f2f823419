import { Inject, Injectable, Logger } from '@nestjs/common';
import { TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { copyImage, type ImageCopy, RegistryClient } from '@infrabox/containers';
import { withLogFields } from '@infrabox/observability';
import { CopyRecorder, JobImage, JobImageRepository } from '@infrabox/jobs';
import { FORWARDER_OPTIONS, ForwarderOptions } from '../forwarder.options';
import { formatBytes, PeerDownloadClient } from '../transfer/peer-download.client';
import { TransferClaims } from '../transfer/transfer-claims';
import { TransferMetrics } from '../transfer/transfer.metrics';
import { TransferRoutes } from '../transfer/transfer-routes';

/** Registry clients log in with any name and an InfraBox token as the password. */
const TOKEN_USER = 'infrabox';
/** The cluster tokens a copy logs in with outlive a long copy (registry tokens are renewed with them). */
const TOKEN_TTL_SECONDS = 3600;

/**
 * Copies the image a `docker` job built from the registry of the cluster it was built on to the
 * registry of a cluster where a child runs it (`"image": {"job": …}`), registry to registry over
 * the distribution API, like outputs: the child's cluster pulls; where it cannot reach the
 * parent's cluster but is reached by it, the parent's cluster pushes. Blobs the target
 * repository holds already (an earlier build's base layers) are not sent; the registry checks
 * each blob's digest, and the copy is recorded (announcing `job.inputs.ready` on the target)
 * only once the target registry has stored the manifest under the recorded digest.
 */
@Injectable()
export class ImageTransferService {
  private readonly logger: Logger;
  private readonly cluster: string;

  constructor(
    private readonly images: JobImageRepository,
    private readonly clusters: ClusterRepository,
    private readonly routes: TransferRoutes,
    private readonly recorder: CopyRecorder,
    private readonly tokens: TokenService,
    private readonly peers: PeerDownloadClient,
    private readonly claims: TransferClaims,
    private readonly metrics: TransferMetrics,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
    @Inject(FORWARDER_OPTIONS) private readonly options: ForwarderOptions,
  ) {
    this.cluster = config.cluster.name;
    this.logger = new Logger(`forwarder@${this.cluster}`);
  }

  neededCopies(): Promise<Array<{ jobId: string; from: string; to: string }>> {
    return this.images.neededCopies(this.cluster);
  }

  /** Into this cluster's registry, from `from`'s. */
  pull(jobId: string, from: string): Promise<void> {
    return withLogFields({ jobId }, () => this.claims.run(`image:${jobId}->${this.cluster}`, () => this.copy(jobId, from, this.cluster, 'pull')));
  }

  /** From this cluster's registry into `to`'s. */
  push(jobId: string, to: string): Promise<void> {
    return withLogFields({ jobId }, () => this.claims.run(`image:${jobId}->${to}`, () => this.copy(jobId, this.cluster, to, 'push')));
  }

  private async copy(jobId: string, from: string, to: string, direction: 'pull' | 'push'): Promise<void> {
    const origin = await this.images.findOrigin(jobId);
    if (!origin || origin.cluster !== from) return;
    if (await this.images.find(jobId, to)) return; // copied already (a re-delivered event, another replica)
    const [source, target] = await Promise.all([this.registryOf(from), this.registryOf(to)]);
    const started = Date.now();
    let copy: ImageCopy | undefined;
    await this.metrics.track('image', direction, async () => {
      await this.peers.withRetries(`${direction} of job ${jobId}'s image ${from} → ${to}`, async () => {
        copy = await copyImage({ client: source, repository: origin.repository, reference: origin.digest }, { client: target, repository: origin.repository, tag: origin.tag }, origin.digest);
      });
      return copy!.bytesSent;
    });
    const record: JobImage = { ...origin, cluster: to };
    await this.recorder.recordImage(record);
    const moved = copy!;
    this.logger.log(
      `job ${jobId}: image ${origin.repository}:${origin.tag} (${origin.digest.slice(0, 19)}…) ${direction === 'pull' ? `pulled from ${from}` : `pushed to ${to}`}: ` +
        `${moved.blobsSent} blob(s) sent (${formatBytes(moved.bytesSent)}), ${moved.blobsSkipped} already there (${formatBytes(moved.bytesSkipped)}), in ${((Date.now() - started) / 1000).toFixed(2)} s`,
    );
  }

  /** A client of `cluster`'s registry, logged in as this cluster (its own, or as a peer). */
  private async registryOf(cluster: string): Promise<RegistryClient> {
    const row = await this.clusters.findByName(cluster);
    if (!row) throw new Error(`cluster '${cluster}' is not registered`);
    if (!row.registryUrl) throw new Error(`cluster '${cluster}' registered no registry URL`);
    return new RegistryClient(row.registryUrl, { username: TOKEN_USER, password: await this.tokens.issueClusterToken(cluster, TOKEN_TTL_SECONDS) }, this.options.idleTimeoutMs);
  }

  mayPullFrom(origin: string): Promise<boolean> {
    return this.routes.mayPullFrom(origin);
  }

  shouldPushTo(target: string): Promise<boolean> {
    return this.routes.shouldPushTo(target);
  }
}
