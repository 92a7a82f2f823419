import { Readable } from 'node:stream';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { CopyRecorder, JobOutput, JobOutputRepository, outputKey, receivedCopyKey } from '@infrabox/jobs';
import { ByteRange, InjectObjectStorage, ObjectStorage } from '@infrabox/storage';
import { parsePushRange, PushReceipts } from './push-receipts.service';

export interface OutputDownload {
  output: JobOutput;
  stream: Readable;
  range?: { start: number; end: number };
}

/** A job's output as peers see it: read from this cluster's storage, or received by push. */
@Injectable()
export class PeerOutputsService {
  private readonly cluster: string;

  constructor(
    private readonly outputs: JobOutputRepository,
    private readonly recorder: CopyRecorder,
    private readonly receipts: PushReceipts,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
  }

  /** The copy of a job's output held here; `range` is inclusive-exclusive. */
  async open(jobId: string, range?: ByteRange): Promise<OutputDownload> {
    const output = await this.outputs.find(jobId, this.cluster);
    if (!output?.storageKey) throw new NotFoundException(`cluster ${this.cluster} holds no output of job '${jobId}'`);
    const stream = await this.storage.get(output.storageKey, range);
    const end = Math.min(range?.end ?? output.size, output.size);
    return { output, stream, range: range ? { start: range.start, end } : undefined };
  }

  /**
   * Receives a job's output pushed by the cluster it ran on. It is stored under a key of its own
   * (receivedCopyKey), checked against the sha256 recorded when the job ended, and only then
   * recorded here and announced to this cluster's schedulers; a corrupt or cut upload is deleted
   * from its own key and never becomes an input, and a copy recorded meanwhile (a pull, another
   * push) is left alone: this one is deleted instead. A cut push resumes (`contentRange`, see
   * PushReceipts): answered with the bytes here so far.
   */
  async receive(jobId: string, body: Readable, peer: string, contentRange: string | undefined): Promise<JobOutput | { received: number }> {
    const origin = await this.outputs.findOrigin(jobId);
    if (!origin?.storageKey) {
      body.resume();
      throw new NotFoundException(`job '${jobId}' has no recorded output to receive`);
    }
    const existing = await this.outputs.find(jobId, this.cluster);
    if (existing) {
      body.resume();
      return existing;
    }
    const expected = { size: origin.size, sha256: origin.sha256, what: `output of job '${jobId}'` };
    const range = parsePushRange(contentRange, origin.size);
    const pushed = await this.receipts.receive(`output:${jobId}`, peer, body, range, expected, () => receivedCopyKey(outputKey(this.cluster, jobId)));
    if ('incomplete' in pushed) return { received: pushed.incomplete };
    const { key, size, sha256 } = pushed.complete;
    const copy: JobOutput = { jobId, cluster: this.cluster, storageKey: key, size, sha256 };
    if (await this.recorder.recordOutput(copy)) return copy;
    await this.storage.delete(key);
    return (await this.outputs.find(jobId, this.cluster)) ?? copy;
  }
}
