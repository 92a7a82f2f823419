import { Readable } from 'node:stream';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { JobOutput, JobOutputRepository, JobRepository, outputKey } from '@infrabox/jobs';
import { InjectObjectStorage, ObjectStorage } from '@infrabox/storage';

/**
 * The data a running job exchanges with its cluster's API (the Kubernetes executor's pods use
 * it; the process executor reads the same storage directly): its parents' outputs in, its own
 * output out.
 */
@Injectable()
export class JobDataService {
  private readonly cluster: string;

  constructor(
    private readonly jobs: JobRepository,
    private readonly outputs: JobOutputRepository,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) config: InstallConfig,
  ) {
    this.cluster = config.cluster.name;
  }

  /** A parent's output as held on this cluster (forwarded here first when it ran elsewhere). */
  async openInput(parentJobId: string): Promise<{ output: JobOutput; stream: Readable }> {
    const output = await this.outputs.find(parentJobId, this.cluster);
    if (!output) throw new NotFoundException(`the output of job '${parentJobId}' is not on cluster ${this.cluster} (yet)`);
    const stream = output.storageKey ? await this.storage.get(output.storageKey) : Readable.from([]);
    return { output, stream };
  }

  /** Stores a running job's output tar on this cluster; its end records it. */
  async storeOutput(jobId: string, body: Readable): Promise<{ size: number; sha256: string }> {
    const job = await this.jobs.findById(jobId);
    if (!job) {
      body.resume();
      throw new NotFoundException(`job '${jobId}' not found`);
    }
    if (job.state !== 'running' || job.cluster !== this.cluster) {
      body.resume();
      throw new ConflictException(`job '${job.name}' is ${job.state} on ${job.cluster ?? 'no cluster'}: only a job running here writes its output`);
    }
    return this.storage.put(outputKey(jobId), body);
  }
}
