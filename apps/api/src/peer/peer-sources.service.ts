import { Readable } from 'node:stream';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { BuildSource, BuildSourceRepository, CopyRecorder, receivedCopyKey, sourceKey } from '@infrabox/jobs';
import { ByteRange, InjectObjectStorage, ObjectStorage } from '@infrabox/storage';
import { parsePushRange, PushReceipts } from './push-receipts.service';

export interface SourceDownload {
  source: BuildSource;
  stream: Readable;
  range?: { start: number; end: number };
}

/** A build's source as peers see it: the copy in this cluster's storage, or received by push. */
@Injectable()
export class PeerSourcesService {
  private readonly cluster: string;

  constructor(
    private readonly sources: BuildSourceRepository,
    private readonly recorder: CopyRecorder,
    private readonly receipts: PushReceipts,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
  }

  /** The copy of a build's source held here; `range` is inclusive-exclusive. */
  async open(buildId: string, range?: ByteRange): Promise<SourceDownload> {
    const source = await this.sources.find(buildId, this.cluster);
    if (!source) throw new NotFoundException(`cluster ${this.cluster} holds no source of build '${buildId}'`);
    const stream = await this.storage.get(source.storageKey, range);
    const end = Math.min(range?.end ?? source.size, source.size);
    return { source, stream, range: range ? { start: range.start, end } : undefined };
  }

  /**
   * Receives a build's source pushed by a cluster holding it (this one cannot pull from any
   * holder). Stored under a key of its own (receivedCopyKey), checked against the size and sha256
   * recorded for the build (every copy has the same), and only then recorded here with the scoped
   * `build.source.ready`; a corrupt or cut upload is deleted from its own key and recorded nowhere,
   * and a copy recorded meanwhile is left alone (this one is deleted instead). A cut push resumes
   * (`contentRange`, see PushReceipts): answered with the bytes here so far.
   */
  async receive(buildId: string, body: Readable, peer: string, contentRange: string | undefined): Promise<BuildSource | { received: number }> {
    const [recorded] = await this.sources.findAll(buildId);
    if (!recorded) {
      body.resume();
      throw new NotFoundException(`build '${buildId}' has no recorded source to receive`);
    }
    const existing = await this.sources.find(buildId, this.cluster);
    if (existing) {
      body.resume();
      return existing;
    }
    const expected = { size: recorded.size, sha256: recorded.sha256, what: `source of build '${buildId}'` };
    const range = parsePushRange(contentRange, recorded.size);
    const pushed = await this.receipts.receive(`source:${buildId}`, peer, body, range, expected, () => receivedCopyKey(sourceKey(this.cluster, buildId)));
    if ('incomplete' in pushed) return { received: pushed.incomplete };
    const { key, size, sha256 } = pushed.complete;
    const copy: BuildSource = { buildId, cluster: this.cluster, storageKey: key, size, sha256 };
    if (await this.recorder.recordSource(copy)) return copy;
    await this.storage.delete(key);
    return (await this.sources.find(buildId, this.cluster)) ?? copy;
  }
}
