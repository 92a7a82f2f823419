import { Inject, Injectable } from '@nestjs/common';
import { TokenService } from '@infrabox/auth';
import { ClusterRepository } from '@infrabox/clusters';
import { copyImage, RegistryClient } from '@infrabox/containers';
import { CopyRecorder, JobImage, JobImageRepository, NeededCopy } from '@infrabox/jobs';
import { FORWARDER_OPTIONS, ForwarderOptions } from '../forwarder.options';
import { formatBytes } from '../transfer/peer-download.client';
import type { TransferDirection } from '../transfer/transfer.metrics';
import type { MoveResult, TransferFailure, TransferStrategy } from '../transfer/transfer.strategy';

/** Registry clients log in with any name and an InfraBox token as the password. */
const TOKEN_USER = 'infrabox';
/** The cluster tokens a copy logs in with outlive a long copy (registry tokens are renewed with them). */
const TOKEN_TTL_SECONDS = 3600;

/**
 * The image a `docker` job built, from the registry of the cluster it was built on to the
 * registry of a cluster where a child runs it (`"image": {"job": …}`), registry to registry over
 * the distribution API, pulled or pushed as outputs are. Unlike an archive it does not pass the
 * clusters' apis: the forwarder copies blob by blob (those the target repository holds already,
 * an earlier build's base layers, are not sent; the registry checks each blob's digest), and
 * records the copy itself, for a push too (announcing `job.inputs.ready` on the target), once the
 * target registry has stored the manifest under the recorded digest.
 */
@Injectable()
export class ImageTransferStrategy implements TransferStrategy<JobImage> {
  readonly kind = 'image' as const;

  constructor(
    private readonly images: JobImageRepository,
    private readonly clusters: ClusterRepository,
    private readonly recorder: CopyRecorder,
    private readonly tokens: TokenService,
    @Inject(FORWARDER_OPTIONS) private readonly options: ForwarderOptions,
  ) {}

  logFields(jobId: string): Record<string, string> {
    return { jobId };
  }

  neededCopies(cluster: string): Promise<NeededCopy[]> {
    return this.images.neededCopies(cluster);
  }

  holders(jobId: string): Promise<JobImage[]> {
    return this.images.holders(jobId);
  }

  async held(jobId: string, cluster: string): Promise<boolean> {
    return (await this.images.find(jobId, cluster)) !== null;
  }

  async move(jobId: string, origin: JobImage, to: string, direction: TransferDirection): Promise<MoveResult> {
    const [source, target] = await Promise.all([this.registryOf(origin.cluster), this.registryOf(to)]);
    const moved = await copyImage({ client: source, repository: origin.repository, reference: origin.digest }, { client: target, repository: origin.repository, tag: origin.tag }, origin.digest);
    await this.recorder.recordImage({ ...origin, cluster: to });
    const report = (seconds: number) =>
      `job ${jobId}: image ${origin.repository}:${origin.tag} (${origin.digest.slice(0, 19)}…) ${direction === 'pull' ? `pulled from ${origin.cluster}` : `pushed to ${to}`}: ` +
      `${moved.blobsSent} blob(s) sent (${formatBytes(moved.bytesSent)}), ${moved.blobsSkipped} already there (${formatBytes(moved.bytesSkipped)}), in ${seconds.toFixed(2)} s`;
    return { bytes: moved.bytesSent, report };
  }

  attempt(jobId: string, from: string, to: string, direction: TransferDirection): string {
    return `${direction} of job ${jobId}'s image ${from} → ${to}`;
  }

  failure(jobId: string, from: string | null, to: string, _direction: TransferDirection, reason: string): TransferFailure {
    return {
      log: `job ${jobId}: image ${from} → ${to} not delivered yet: ${reason}`,
      waiting: { parentId: jobId },
      cluster: to,
      note: `waiting for the image of job ${jobId} from ${from}: the transfer failed (${reason}); retrying`,
    };
  }

  /** A client of `cluster`'s registry, logged in as this cluster (its own, or as a peer). */
  private async registryOf(cluster: string): Promise<RegistryClient> {
    const row = await this.clusters.findByName(cluster);
    if (!row) throw new Error(`cluster '${cluster}' is not registered`);
    if (!row.registryUrl) throw new Error(`cluster '${cluster}' registered no registry URL`);
    return new RegistryClient(row.registryUrl, { username: TOKEN_USER, password: await this.tokens.issueClusterToken(cluster, TOKEN_TTL_SECONDS) }, this.options.idleTimeoutMs);
  }
}
