import { ClusterRepository } from '@infrabox/clusters';
import { ARTIFACT_KIND_INFO, ArtifactCopy, ArtifactCopyRepository, ArtifactKind, CopyRecorder, NeededCopy } from '@infrabox/jobs';
import { formatBytes, PeerDownloadClient } from './peer-download.client';
import type { TransferDirection } from './transfer.metrics';
import type { MoveResult, TransferFailure, TransferStrategy } from './transfer.strategy';

/** The words of a kind's transfers in the log and in the notes on the jobs waiting for them. */
interface ArchiveTexts {
  /** "job …'s output" */
  what(id: string): string;
  attempt(id: string, from: string, to: string, direction: TransferDirection): string;
  moved(id: string, size: number, peer: string, direction: TransferDirection, seconds: number): string;
  failure(id: string, from: string | null, to: string, here: string, direction: TransferDirection, reason: string): TransferFailure;
}

const seconds = (s: number) => `${s.toFixed(2)} s`;

const TEXTS: Readonly<Record<ArtifactKind, ArchiveTexts>> = {
  output: {
    what: (jobId) => `job ${jobId}'s output`,
    attempt: (jobId, from, to, direction) => (direction === 'pull' ? `pull of job ${jobId}'s output from ${from}` : `push of job ${jobId}'s output to ${to}`),
    moved: (jobId, size, peer, direction, s) => `job ${jobId}: ${direction === 'pull' ? `pulled ${formatBytes(size)} from` : `pushed ${formatBytes(size)} to`} ${peer} in ${seconds(s)}`,
    failure: (jobId, from, to, _here, _direction, reason) => ({
      log: `job ${jobId}: output ${from} → ${to} not delivered yet: ${reason}`,
      waiting: { parentId: jobId },
      cluster: to,
      note: `waiting for the output of job ${jobId} from ${from}: the transfer failed (${reason}); retrying`,
    }),
  },
  source: {
    what: (buildId) => `build ${buildId}'s source`,
    attempt: (buildId, _from, to, direction) => (direction === 'pull' ? `fetch of build ${buildId}'s source` : `push of build ${buildId}'s source to ${to}`),
    moved: (buildId, size, peer, direction, s) => `build ${buildId}: ${direction === 'pull' ? 'fetched its source' : 'pushed its source'} (${formatBytes(size)}) ${direction === 'pull' ? 'from' : 'to'} ${peer} in ${seconds(s)}`,
    failure: (buildId, _from, to, here, direction, reason) =>
      direction === 'pull'
        ? { log: `build ${buildId}: source not fetched yet: ${reason}`, waiting: { buildId }, cluster: to, note: `waiting for the build's source: fetching it failed (${reason}); retrying` }
        : { log: `build ${buildId}: source not pushed to ${to} yet: ${reason}`, waiting: { buildId }, cluster: to, note: `waiting for the build's source: ${here} could not push it (${reason}); retrying` },
  },
};

/**
 * Archives (job outputs, build sources) between clusters' storage, through the peer route
 * `/api/v1/peer/<kind>/<id>` of the cluster's api: streamed, resumed, verified against the
 * recorded sha256 (PeerDownloadClient), recorded and announced (CopyRecorder) once complete.
 */
export class ArchiveTransferStrategy implements TransferStrategy<ArtifactCopy> {
  private readonly texts: ArchiveTexts;

  constructor(
    readonly kind: ArtifactKind,
    private readonly cluster: string,
    private readonly copies: ArtifactCopyRepository,
    private readonly clusters: ClusterRepository,
    private readonly recorder: CopyRecorder,
    private readonly peers: PeerDownloadClient,
  ) {
    this.texts = TEXTS[kind];
  }

  logFields(id: string): Record<string, string> {
    return { [ARTIFACT_KIND_INFO[this.kind].idField]: id };
  }

  neededCopies(cluster: string): Promise<NeededCopy[]> {
    return this.copies.neededCopies(this.kind, cluster);
  }

  holders(id: string): Promise<ArtifactCopy[]> {
    return this.copies.holders(this.kind, id);
  }

  async held(id: string, cluster: string): Promise<boolean> {
    return (await this.copies.find(this.kind, id, cluster)) !== null;
  }

  async move(id: string, from: ArtifactCopy, to: string, direction: TransferDirection): Promise<MoveResult> {
    const peer = direction === 'pull' ? from.cluster : to;
    const url = `${await this.apiUrlOf(peer)}/api/v1/peer/${this.kind}/${id}`;
    const what = this.texts.what(id);
    const report = (s: number) => this.texts.moved(id, from.size, peer, direction, s);
    if (direction === 'push') {
      await this.peers.upload({ url, to, size: from.size, what }, from.storageKey!);
      return { bytes: from.size, report };
    }
    const recorded = await this.peers.download({ url, from: from.cluster, size: from.size, sha256: from.sha256, what }, ARTIFACT_KIND_INFO[this.kind].storageKey(to, id), (key) =>
      this.recorder.record(this.kind, { ...from, cluster: to, storageKey: key }),
    );
    return { bytes: from.size, report: recorded ? report : null };
  }

  attempt(id: string, from: string, to: string, direction: TransferDirection): string {
    return this.texts.attempt(id, from, to, direction);
  }

  failure(id: string, from: string | null, to: string, direction: TransferDirection, reason: string): TransferFailure {
    return this.texts.failure(id, from, to, this.cluster, direction, reason);
  }

  private async apiUrlOf(cluster: string): Promise<string> {
    const row = await this.clusters.findByName(cluster);
    if (!row) throw new Error(`cluster '${cluster}' is not registered`);
    return row.apiUrl;
  }
}
