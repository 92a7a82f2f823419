import { Readable } from 'node:stream';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { BuildSource, BuildSourceRepository } from '@infrabox/jobs';
import { ByteRange, InjectObjectStorage, ObjectStorage } from '@infrabox/storage';

export interface SourceDownload {
  source: BuildSource;
  stream: Readable;
  range?: { start: number; end: number };
}

/** A build's source as peers see it: the copy in this cluster's storage. */
@Injectable()
export class PeerSourcesService {
  private readonly cluster: string;

  constructor(
    private readonly sources: BuildSourceRepository,
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
}
