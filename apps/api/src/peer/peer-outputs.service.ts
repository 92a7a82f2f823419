import { Readable } from 'node:stream';
import { Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { Database } from '@infrabox/database';
import { forCluster, PgEventClient } from '@infrabox/events';
import { JOB_INPUTS_READY, JobInputsReadyEvent, JobOutput, JobOutputRepository, outputKey } from '@infrabox/jobs';
import { ByteRange, InjectObjectStorage, ObjectStorage } from '@infrabox/storage';

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
    private readonly db: Database,
    private readonly outputs: JobOutputRepository,
    private readonly events: PgEventClient,
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
   * Receives a job's output pushed by the cluster it ran on. It is stored, checked against the
   * sha256 recorded when the job ended, and only then recorded here and announced to this
   * cluster's schedulers; a corrupt or cut upload is deleted and never becomes an input.
   */
  async receive(jobId: string, body: Readable): Promise<JobOutput> {
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
    const key = outputKey(jobId);
    const stored = await this.storage.put(key, body, { contentLength: origin.size });
    if (stored.sha256 !== origin.sha256) {
      await this.storage.delete(key);
      throw new UnprocessableEntityException(`output of job '${jobId}': sha256 ${stored.sha256} does not match the recorded ${origin.sha256}`);
    }
    const copy: JobOutput = { jobId, cluster: this.cluster, storageKey: key, size: stored.size, sha256: stored.sha256 };
    await this.recordCopy(copy);
    return copy;
  }

  /** Records a verified copy and tells this cluster's schedulers, in one transaction. */
  async recordCopy(copy: JobOutput): Promise<void> {
    await this.db.transaction(async () => {
      if (!(await this.outputs.record(copy))) return;
      const event: JobInputsReadyEvent = { jobId: copy.jobId, cluster: copy.cluster };
      await lastValueFrom(this.events.emit(JOB_INPUTS_READY, forCluster(copy.cluster, event)));
    });
  }
}
