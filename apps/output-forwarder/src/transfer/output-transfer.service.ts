import { Inject, Injectable, Logger } from '@nestjs/common';
import { ClusterRepository } from '@infrabox/clusters';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { withLogFields } from '@infrabox/observability';
import { CopyRecorder, JobOutput, JobOutputRepository, outputKey } from '@infrabox/jobs';
import { formatBytes, PeerDownloadClient } from './peer-download.client';
import { TransferClaims } from './transfer-claims';
import { TransferMetrics } from './transfer.metrics';
import { TransferRoutes } from './transfer-routes';

/**
 * Moves a job's output from the cluster it ran on to a cluster that runs one of its children.
 * The child's cluster fetches it (pull); where that cluster cannot reach the parent's but the
 * parent's can reach it, the parent's cluster sends it (push). Either way the bytes stream
 * (constant memory), are checked against the sha256 recorded when the job ended, and become an
 * input only once complete and verified.
 */
@Injectable()
export class OutputTransferService {
  private readonly logger: Logger;
  private readonly cluster: string;

  constructor(
    private readonly outputs: JobOutputRepository,
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

  /** Pull direction: unless the parent's cluster is known to be unreachable from here. */
  mayPullFrom(origin: string): Promise<boolean> {
    return this.routes.mayPullFrom(origin);
  }

  /** Push direction: only when `target` cannot reach us, and we are not known to be cut off from it. */
  shouldPushTo(target: string): Promise<boolean> {
    return this.routes.shouldPushTo(target);
  }

  /** Of all forwarder replicas, one moves a copy at a time (TransferClaims); the others return at once. */
  pull(jobId: string, from: string): Promise<void> {
    return withLogFields({ jobId }, () => this.claims.run(`output:${jobId}->${this.cluster}`, () => this.doPull(jobId, from)));
  }

  push(jobId: string, to: string): Promise<void> {
    return withLogFields({ jobId }, () => this.claims.run(`output:${jobId}->${to}`, () => this.doPush(jobId, to)));
  }

  private async doPull(jobId: string, from: string): Promise<void> {
    const origin = await this.outputs.findOrigin(jobId);
    if (!origin?.storageKey) return; // nothing to move
    if (await this.outputs.find(jobId, this.cluster)) return; // already here (a re-delivered event)
    const peer = await this.clusters.findByName(from);
    if (!peer) throw new Error(`cluster '${from}' is not registered`);
    const started = Date.now();
    await this.metrics.track('output', 'pull', async () => {
      await this.peers.withRetries(`pull of job ${jobId}'s output from ${from}`, () => this.download(origin, peer.apiUrl, from));
      return origin.size;
    });
    const seconds = (Date.now() - started) / 1000;
    this.logger.log(`job ${jobId}: pulled ${formatBytes(origin.size)} from ${from} in ${seconds.toFixed(2)} s`);
  }

  private async doPush(jobId: string, to: string): Promise<void> {
    const origin = await this.outputs.find(jobId, this.cluster);
    if (!origin?.storageKey) return;
    if (await this.outputs.find(jobId, to)) return;
    const peer = await this.clusters.findByName(to);
    if (!peer) throw new Error(`cluster '${to}' is not registered`);
    const started = Date.now();
    await this.metrics.track('output', 'push', async () => {
      await this.peers.withRetries(`push of job ${jobId}'s output to ${to}`, () =>
        this.peers.upload({ url: `${peer.apiUrl}/api/v1/peer/jobs/${jobId}/output`, to, size: origin.size, what: `job ${jobId}'s output` }, origin.storageKey!),
      );
      return origin.size;
    });
    this.logger.log(`job ${jobId}: pushed ${formatBytes(origin.size)} to ${to} in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  }

  /** Streams the peer's copy into local storage (resuming, verified), then records it here. */
  private async download(origin: JobOutput, apiUrl: string, from: string): Promise<void> {
    await this.peers.download(
      { url: `${apiUrl}/api/v1/peer/jobs/${origin.jobId}/output`, from, size: origin.size, sha256: origin.sha256, what: `job ${origin.jobId}'s output` },
      outputKey(this.cluster, origin.jobId),
      (key) => this.recorder.recordOutput({ ...origin, cluster: this.cluster, storageKey: key }),
    );
  }
}
