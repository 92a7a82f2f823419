import { Readable } from 'node:stream';
import { Injectable, NotFoundException } from '@nestjs/common';
import { CurrentCluster } from '@infrabox/config';
import { ARTIFACT_KIND_INFO, ArtifactCopy, ArtifactCopyRepository, ArtifactKind, CopyRecorder, describeArtifact, receivedCopyKey } from '@infrabox/jobs';
import { ByteRange, InjectObjectStorage, ObjectStorage } from '@infrabox/storage';
import { parsePushRange, PushReceipts } from './push-receipts.service';

export interface ArtifactDownload {
  copy: ArtifactCopy;
  stream: Readable;
  range?: { start: number; end: number };
}

/** Artifacts (job outputs, build sources) as peers see them: read from this cluster's storage, or received by push. */
@Injectable()
export class PeerArtifactsService {
  private readonly cluster: string;

  constructor(
    private readonly copies: ArtifactCopyRepository,
    private readonly recorder: CopyRecorder,
    private readonly receipts: PushReceipts,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    cluster: CurrentCluster,
  ) {
    this.cluster = cluster.name;
  }

  /** The copy held here; `range` is inclusive-exclusive. */
  async open(kind: ArtifactKind, id: string, range?: ByteRange): Promise<ArtifactDownload> {
    const copy = await this.copies.find(kind, id, this.cluster);
    if (!copy?.storageKey) throw new NotFoundException(`cluster ${this.cluster} holds no ${describeArtifact(kind, id)}`);
    const stream = await this.storage.get(copy.storageKey, range);
    const end = Math.min(range?.end ?? copy.size, copy.size);
    return { copy, stream, range: range ? { start: range.start, end } : undefined };
  }

  /**
   * Receives an artifact pushed by a cluster holding it (this one cannot pull it). It is stored
   * under a key of its own (receivedCopyKey), checked against the size and sha256 recorded for it
   * (every copy has the same), and only then recorded here and announced to this cluster's
   * schedulers; a corrupt or cut upload is deleted from its own key and recorded nowhere, and a
   * copy recorded meanwhile (a pull, another push) is left alone: this one is deleted instead. A
   * cut push resumes (`contentRange`, see PushReceipts): answered with the bytes here so far.
   */
  async receive(kind: ArtifactKind, id: string, body: Readable, peer: string, contentRange: string | undefined): Promise<ArtifactCopy | { received: number }> {
    const [recorded] = await this.copies.holders(kind, id);
    if (!recorded) {
      body.resume();
      throw new NotFoundException(`${ARTIFACT_KIND_INFO[kind].owner} '${id}' has no recorded ${kind} to receive`);
    }
    const existing = await this.copies.find(kind, id, this.cluster);
    if (existing) {
      body.resume();
      return existing;
    }
    const expected = { size: recorded.size, sha256: recorded.sha256, what: describeArtifact(kind, id) };
    const range = parsePushRange(contentRange, recorded.size);
    const pushed = await this.receipts.receive(`${kind}:${id}`, peer, body, range, expected, () => receivedCopyKey(ARTIFACT_KIND_INFO[kind].storageKey(this.cluster, id)));
    if ('incomplete' in pushed) return { received: pushed.incomplete };
    const { key, size, sha256 } = pushed.complete;
    const copy: ArtifactCopy = { id, cluster: this.cluster, storageKey: key, size, sha256 };
    if (await this.recorder.record(kind, copy)) return copy;
    await this.storage.delete(key);
    return (await this.copies.find(kind, id, this.cluster)) ?? copy;
  }
}
